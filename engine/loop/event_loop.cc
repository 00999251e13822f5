#include "engine/loop/event_loop.h"

#include <cstdlib>
#include <ctime>

// mimalloc's, when it is the process allocator (weak: tests and sanitizer
// builds run on the system allocator, and this is then null).
extern "C" void mi_collect(bool force) __attribute__((weak));

namespace plexgate::loop {

EventLoop::EventLoop()
    : header_timeouts_(10'000, &EventLoop::onListFirst, this),
      idle_timeouts_(60'000, &EventLoop::onListFirst, this),
      linger_timeouts_(5'000, &EventLoop::onListFirst, this),
      park_timeouts_(500, &EventLoop::onListFirst, this) {
  if (uv_loop_init(&loop_) != 0) {
    std::abort();
  }
  loop_.data = this;
  uv_async_init(&loop_, &async_, &EventLoop::onAsync);
  async_.data = this;
  uv_check_init(&loop_, &check_);
  check_.data = this;
  uv_check_start(&check_, &EventLoop::onCheck);
  uv_unref(reinterpret_cast<uv_handle_t*>(&check_));
  uv_timer_init(&loop_, &timer_);
  timer_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&timer_));
}

EventLoop::~EventLoop() = default;

int EventLoop::run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
  // stop() closed our handles; let their close callbacks run.
  uv_run(&loop_, UV_RUN_DEFAULT);
  deferred_.clear();
  return uv_loop_close(&loop_);
}

void EventLoop::stop() {
  if (stopping_) {
    return;
  }
  stopping_ = true;
  {
    // No uv_async_send may start after this: sends happen under the lock,
    // and uv_loop_close closes the descriptor they write to.
    std::lock_guard<std::mutex> lock(post_mu_);
    post_closed_ = true;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&check_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

bool EventLoop::post(std::function<void()> fn) {
  std::unique_lock<std::mutex> lock(post_mu_);
  if (post_closed_) {
    lock.unlock();
    return false;  // fn is destroyed here, outside the lock
  }
  posted_.push_back(std::move(fn));
  uv_async_send(&async_);
  return true;
}

void EventLoop::onAsync(uv_async_t* h) {
  auto* self = static_cast<EventLoop*>(h->data);
  // uv_async_send coalesces: take everything queued so far, run it unlocked.
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(self->post_mu_);
    batch.swap(self->posted_);
  }
  for (auto& fn : batch) {
    fn();
  }
}

void EventLoop::deferredDelete(std::unique_ptr<DeferredDeletable> obj) {
  deferred_.push_back(std::move(obj));
}

void EventLoop::onCheck(uv_check_t* h) {
  auto* self = static_cast<EventLoop*>(h->data);
  // Destructors may defer more deletions; swap until quiet.
  while (!self->deferred_.empty()) {
    std::vector<std::unique_ptr<DeferredDeletable>> batch;
    batch.swap(self->deferred_);
  }
}

std::string_view EventLoop::httpDate() {
  const uint64_t sec = static_cast<uint64_t>(std::time(nullptr));
  if (sec != date_second_) {
    date_second_ = sec;
    const std::time_t t = static_cast<std::time_t>(sec);
    struct tm tm;
    gmtime_r(&t, &tm);
    date_len_ = std::strftime(date_, sizeof(date_), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    log_time_len_ = std::strftime(log_time_, sizeof(log_time_), "%d/%b/%Y:%H:%M:%S +0000", &tm);
  }
  return std::string_view(date_, date_len_);
}

std::string_view EventLoop::logTime() {
  httpDate();
  return std::string_view(log_time_, log_time_len_);
}

TimeoutList& EventLoop::timeouts(uint64_t duration_ms) {
  for (const auto& l : extra_timeouts_) {
    if (l->duration() == duration_ms) {
      return *l;
    }
  }
  extra_timeouts_.push_back(std::make_unique<TimeoutList>(duration_ms, &EventLoop::onListFirst, this));
  return *extra_timeouts_.back();
}

void EventLoop::trimSoon() {
  if (!trim_.armed()) {
    timeouts(kTrimDelayMs).arm(trim_, now());
  }
}

void EventLoop::onTrim(TimeoutNode& node) {
  static_cast<EventLoop*>(node.owner())->slice_pool_.trim();
  if (mi_collect != nullptr) {
    mi_collect(true);
  }
}

void EventLoop::onListFirst(void* ctx) { static_cast<EventLoop*>(ctx)->scheduleTimer(); }

void EventLoop::scheduleTimer() {
  if (stopping_ && uv_is_closing(reinterpret_cast<uv_handle_t*>(&timer_))) {
    return;
  }
  uint64_t next = 0;
  auto consider = [&next](const TimeoutList& l) {
    const uint64_t d = l.nextDeadline();
    if (d != 0 && (next == 0 || d < next)) {
      next = d;
    }
  };
  for (TimeoutList* l : {&header_timeouts_, &idle_timeouts_, &linger_timeouts_, &park_timeouts_}) {
    consider(*l);
  }
  for (const auto& l : extra_timeouts_) {
    consider(*l);
  }
  if (next == 0) {
    uv_timer_stop(&timer_);
    timer_due_ = 0;
    return;
  }
  // Coarse: wake at most every 100 ms; a timeout may fire up to that late.
  // Something already due (the zero-duration list: "on the next turn")
  // wakes the loop at once.
  const uint64_t now = uv_now(&loop_);
  const uint64_t slack = next <= now ? 0 : 100;
  if (timer_due_ != 0 && timer_due_ <= next + slack) {
    return;
  }
  const uint64_t delay = next > now ? next - now : 0;
  timer_due_ = now + delay;
  uv_timer_start(&timer_, &EventLoop::onTimer, delay, 0);
}

void EventLoop::onTimer(uv_timer_t* h) {
  auto* self = static_cast<EventLoop*>(h->data);
  self->timer_due_ = 0;
  self->runTimeouts();
}

void EventLoop::runTimeouts() {
  const uint64_t now = uv_now(&loop_);
  header_timeouts_.expire(now);
  idle_timeouts_.expire(now);
  linger_timeouts_.expire(now);
  park_timeouts_.expire(now);
  for (size_t i = 0; i < extra_timeouts_.size(); ++i) {
    extra_timeouts_[i]->expire(now);
  }
  scheduleTimer();
}

}  // namespace plexgate::loop
