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

void TimeoutList::setDuration(uint64_t ms) {
  if (ms == duration_ms_) {
    return;
  }
  for (TimeoutNode* n = first_; n != nullptr; n = n->next_) {
    n->deadline_ = n->deadline_ - duration_ms_ + ms;  // deadline_ >= duration_ms_: it is arm time + duration
  }
  duration_ms_ = ms;
  if (first_ != nullptr && on_first_ != nullptr) {
    on_first_(ctx_);  // the head may be due sooner: let the loop look again
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
