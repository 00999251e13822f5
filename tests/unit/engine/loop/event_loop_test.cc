// EventLoop pieces that need a running loop but no socket.
#include "engine/loop/event_loop.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace plexgate::loop
