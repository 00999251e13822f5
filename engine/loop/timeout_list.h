// Coarse timeouts for many connections on one uv_timer_t. Every node in a
// TimeoutList has the same duration, so appending at the tail on (re)arm keeps
// the list sorted by deadline: arm, re-arm and cancel are O(1) and the loop's
// timer only looks at list heads. Nodes are embedded in their owners (a
// Session) and unlink themselves when destroyed. One loop only.
#pragma once

#include <cstdint>

namespace plexgate::loop {

class TimeoutList;

class TimeoutNode {
 public:
  using Callback = void (*)(TimeoutNode&);
  TimeoutNode(Callback cb, void* owner) : cb_(cb), owner_(owner) {}
  ~TimeoutNode() { cancel(); }
  TimeoutNode(const TimeoutNode&) = delete;
  TimeoutNode& operator=(const TimeoutNode&) = delete;

  void cancel();
  bool armed() const { return list_ != nullptr; }
  TimeoutList* list() const { return list_; }
  uint64_t deadline() const { return deadline_; }
  void* owner() const { return owner_; }

 private:
  friend class TimeoutList;
  Callback cb_;
  void* owner_;
  TimeoutNode* prev_ = nullptr;
  TimeoutNode* next_ = nullptr;
  TimeoutList* list_ = nullptr;
  uint64_t deadline_ = 0;
};

class TimeoutList {
 public:
  // `on_first` is told when the list goes from empty to non-empty, so the
  // loop can make sure its timer will wake up in time.
  TimeoutList(uint64_t duration_ms, void (*on_first)(void*), void* ctx)
      : duration_ms_(duration_ms), on_first_(on_first), ctx_(ctx) {}
  ~TimeoutList();
  TimeoutList(const TimeoutList&) = delete;
  TimeoutList& operator=(const TimeoutList&) = delete;

  // (Re)arms `node` to fire at now + duration; moves it here from any list.
  void arm(TimeoutNode& node, uint64_t now_ms);
  // Fires every node whose deadline is <= now; returns the next deadline or 0.
  uint64_t expire(uint64_t now_ms);
  uint64_t duration() const { return duration_ms_; }
  // Armed nodes move with it (each to its arm time + `ms`), so the list
  // stays sorted and a shorter timeout also applies to what is armed.
  void setDuration(uint64_t ms);
  uint64_t nextDeadline() const { return first_ != nullptr ? first_->deadline_ : 0; }
  bool empty() const { return first_ == nullptr; }

 private:
  friend class TimeoutNode;
  void unlink(TimeoutNode& node);

  uint64_t duration_ms_;
  void (*on_first_)(void*);
  void* ctx_;
  TimeoutNode* first_ = nullptr;
  TimeoutNode* last_ = nullptr;
};

}  // namespace plexgate::loop
