// EventLoop pieces that need a running loop but no socket.
#include "engine/loop/event_loop.h"

#include <gtest/gtest.h>

#include <memory>

namespace plexgate::loop {
namespace {

// trimSoon frees the slice pool's cached slices kTrimDelayMs later (and asks
// the allocator, when it is mimalloc, to return free pages). A node armed on
// the same list right after it fires after it: the list keeps arm order.
TEST(EventLoopTest, TrimSoonFreesCachedSlicesAfterTheDelay) {
  EventLoop loop;
  buf::SlicePool& pool = loop.slicePool();
  size_t cached_before = 0;
  TimeoutNode check([](TimeoutNode& n) { static_cast<EventLoop*>(n.owner())->stop(); }, &loop);
  loop.post([&] {
    buf::Slice* a = pool.acquire();
    buf::Slice* b = pool.acquire();
    pool.release(a);
    pool.release(b);
    cached_before = pool.cached();
    loop.trimSoon();
    loop.trimSoon();  // already armed: one trim
    loop.timeouts(EventLoop::kTrimDelayMs).arm(check, loop.now());
  });
  EXPECT_EQ(loop.run(), 0);  // every handle closed
  EXPECT_EQ(cached_before, 2u);
  EXPECT_EQ(pool.cached(), 0u);
}

// A post after the loop stopped (a second SIGTERM's drain reaching a worker
// whose loop has closed) is dropped: it used to write to the closed loop's
// wake-up descriptor, and libuv aborts on that.
TEST(EventLoopTest, PostAfterStopIsDroppedNotSentToAClosedLoop) {
  EventLoop loop;
  int ran = 0;
  EXPECT_TRUE(loop.post([&] {
    ++ran;
    loop.stop();
  }));
  EXPECT_EQ(loop.run(), 0);
  EXPECT_EQ(ran, 1);
  auto owned = std::make_shared<int>(7);
  EXPECT_FALSE(loop.post([&ran, owned] { ++ran; }));
  EXPECT_EQ(owned.use_count(), 1);  // the dropped function let go of what it held
  EXPECT_EQ(ran, 1);
}

}  // namespace
}  // namespace plexgate::loop
