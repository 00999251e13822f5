#include "engine/loop/timeout_list.h"

namespace plexgate::loop {

void TimeoutNode::cancel() {
  if (list_ != nullptr) {
    list_->unlink(*this);
  }
}

TimeoutList::~TimeoutList() {
  while (first_ != nullptr) {
    unlink(*first_);
  }
}

void TimeoutList::unlink(TimeoutNode& n) {
  if (n.prev_ != nullptr) {
    n.prev_->next_ = n.next_;
  } else {
    first_ = n.next_;
  }
  if (n.next_ != nullptr) {
    n.next_->prev_ = n.prev_;
  } else {
    last_ = n.prev_;
  }
  n.prev_ = n.next_ = nullptr;
  n.list_ = nullptr;
}

void TimeoutList::arm(TimeoutNode& n, uint64_t now_ms) {
  n.cancel();
  n.deadline_ = now_ms + duration_ms_;
  n.list_ = this;
  n.prev_ = last_;
  n.next_ = nullptr;
  const bool was_empty = first_ == nullptr;
  if (last_ != nullptr) {
    last_->next_ = &n;
  } else {
    first_ = &n;
  }
  last_ = &n;
  if (was_empty && on_first_ != nullptr) {
    on_first_(ctx_);
  }
}

uint64_t TimeoutList::expire(uint64_t now_ms) {
  while (first_ != nullptr && first_->deadline_ <= now_ms) {
    TimeoutNode& n = *first_;
    unlink(n);
    n.cb_(n);  // may arm or destroy other nodes; we re-read first_ each time
  }
  return nextDeadline();
}

}  // namespace plexgate::loop
