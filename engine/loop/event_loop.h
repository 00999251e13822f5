// EventLoop owns one uv_loop_t and the per-loop services every object on that
// loop uses: the slice pool, the cached HTTP Date, deferred deletion (objects
// die after the current callback stack unwinds), cross-thread posts through a
// uv_async_t, and the coarse timeout lists on one uv_timer_t. It lives on the
// thread that runs it; only post() may be called from other threads.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "engine/buf/slice.h"
#include "engine/loop/timeout_list.h"

namespace plexgate::loop {

class DeferredDeletable {
 public:
  virtual ~DeferredDeletable() = default;
};

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  uv_loop_t* uv() { return &loop_; }
  buf::SlicePool& slicePool() { return slice_pool_; }

  // Runs until stop() and every handle has closed. Returns uv_loop_close's
  // result: 0, or UV_EBUSY when a handle leaked (a bug: tests check it).
  int run();
  // Closes the loop's own handles; run() returns once others are closed too.
  void stop();
  bool stopping() const { return stopping_; }

  // Thread-safe: runs fn on this loop's thread, soon. Once stop() has run,
  // fn is dropped (destroyed on the caller's thread) and false returned: a
  // late post, such as a second SIGTERM's drain reaching a worker that has
  // already exited, must not touch a closed loop.
  bool post(std::function<void()> fn);
  // Frees `obj` once the current callback stack has unwound.
  void deferredDelete(std::unique_ptr<DeferredDeletable> obj);

  uint64_t now() const { return uv_now(&loop_); }
  // "Sun, 06 Nov 1994 08:49:37 GMT", refreshed at most once a second.
  std::string_view httpDate();
  // "23/Nov/2026:13:55:36 +0000" for access logs, refreshed the same way.
  std::string_view logTime();

  // Timeout lists for session phases; durations from the configuration.
  TimeoutList& headerTimeouts() { return header_timeouts_; }
  TimeoutList& idleTimeouts() { return idle_timeouts_; }
  // Connections that sent their last response and wait for the peer to close.
  TimeoutList& lingerTimeouts() { return linger_timeouts_; }
  // Idle keep-alive connections, until they are parked (proxy::Session).
  TimeoutList& parkTimeouts() { return park_timeouts_; }
  // What a parked socket's handle (see net::Socket) being readable calls:
  // it must attach a Connection to the socket before returning.
  using ParkedWake = void (*)(uv_handle_t* handle);
  void setParkedWake(ParkedWake fn) { parked_wake_ = fn; }
  void wakeParked(uv_handle_t* handle) {
    if (parked_wake_ != nullptr) {
      parked_wake_(handle);
    }
  }
  // A list for any other fixed duration (upstream connect, response, pool
  // idle...): created on first use, one per distinct duration. Duration 0
  // runs a node on the next loop turn (work deferred out of the current
  // call stack).
  TimeoutList& timeouts(uint64_t duration_ms);

  // Memory was freed in bulk (connections parking): a little later, free the
  // slice pool's cached slices and have the allocator give this thread's
  // free pages back to the OS. mimalloc otherwise returns them only on
  // later allocator calls, which an idle worker never makes. At most one
  // trim per kTrimDelayMs.
  void trimSoon();
  static constexpr uint64_t kTrimDelayMs = 200;

 private:
  static void onTrim(TimeoutNode& node);
  static void onAsync(uv_async_t* h);
  static void onCheck(uv_check_t* h);
  static void onTimer(uv_timer_t* h);
  static void onListFirst(void* self);
  void runTimeouts();
  void scheduleTimer();

  uv_loop_t loop_;
  uv_async_t async_;
  uv_check_t check_;
  uv_timer_t timer_;
  buf::SlicePool slice_pool_;
  std::mutex post_mu_;
  std::vector<std::function<void()>> posted_;  // guarded by post_mu_
  bool post_closed_ = false;                     // guarded by post_mu_
  std::vector<std::unique_ptr<DeferredDeletable>> deferred_;
  TimeoutList header_timeouts_;
  TimeoutList idle_timeouts_;
  TimeoutList linger_timeouts_;
  TimeoutList park_timeouts_;
  std::vector<std::unique_ptr<TimeoutList>> extra_timeouts_;
  TimeoutNode trim_{&EventLoop::onTrim, this};
  ParkedWake parked_wake_ = nullptr;
  uint64_t timer_due_ = 0;  // when timer_ fires next; 0 = not armed
  uint64_t date_second_ = 0;
  char date_[32] = {};
  size_t date_len_ = 0;
  char log_time_[32] = {};
  size_t log_time_len_ = 0;
  bool stopping_ = false;
};

}  // namespace plexgate::loop
