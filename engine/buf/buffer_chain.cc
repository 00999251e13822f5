#include "engine/buf/buffer_chain.h"

#include <cstring>

namespace plexgate::buf {

void BufferChain::push(Piece&& p) {
  if (p.len == 0) {
    return;
  }
  bytes_ += p.len;
  if (pieceCount() > 0) {
    Piece& last = pieces_.back();
    if (last.owner.get() == p.owner.get() && last.data + last.len == p.data) {
      last.len += p.len;
      return;
    }
  }
  pieces_.push_back(std::move(p));
}

char* BufferChain::reserve(size_t n) {
  if (!tail_ || tail_used_ + n > tail_->capacity) {
    if (tail_ && tail_.unique()) {
      tail_used_ = 0;  // nothing else references it: reuse from the start
    } else {
      tail_ = SliceRef(pool_->acquire(n));
      tail_used_ = 0;
    }
    if (tail_used_ + n > tail_->capacity) {
      tail_ = SliceRef(pool_->acquire(n));
      tail_used_ = 0;
    }
  }
  return tail_->data() + tail_used_;
}

void BufferChain::commit(size_t used) {
  if (used == 0) {
    return;
  }
  const char* start = tail_->data() + tail_used_;
  tail_used_ += static_cast<uint32_t>(used);
  push(Piece{tail_, start, static_cast<uint32_t>(used)});
}

void BufferChain::appendCopy(std::string_view bytes) {
  while (!bytes.empty()) {
    const size_t n = bytes.size() < kDefaultSliceSize ? bytes.size() : kDefaultSliceSize;
    char* dst = reserve(n);
    std::memcpy(dst, bytes.data(), n);
    commit(n);
    bytes.remove_prefix(n);
  }
}

void BufferChain::appendRef(const SliceRef& owner, const char* data, size_t len) {
  push(Piece{owner, data, static_cast<uint32_t>(len)});
}

void BufferChain::appendExternal(std::string_view bytes) {
  // Pieces carry 32-bit lengths; split anything larger.
  while (!bytes.empty()) {
    const size_t n = bytes.size() < (1u << 30) ? bytes.size() : (1u << 30);
    push(Piece{SliceRef(), bytes.data(), static_cast<uint32_t>(n)});
    bytes.remove_prefix(n);
  }
}

void BufferChain::moveFrom(BufferChain& other) {
  for (size_t i = other.head_; i < other.pieces_.size(); ++i) {
    push(std::move(other.pieces_[i]));
  }
  other.pieces_.clear();
  other.head_ = 0;
  other.bytes_ = 0;
}

void BufferChain::appendRefsOf(const BufferChain& other) {
  for (size_t i = other.head_; i < other.pieces_.size(); ++i) {
    const Piece& p = other.pieces_[i];
    push(Piece{p.owner, p.data, p.len});
  }
}

void BufferChain::drain(size_t n) {
  while (n > 0 && head_ < pieces_.size()) {
    Piece& p = pieces_[head_];
    if (n < p.len) {
      p.data += n;
      p.len -= static_cast<uint32_t>(n);
      bytes_ -= n;
      return;
    }
    n -= p.len;
    bytes_ -= p.len;
    p.owner.reset();
    ++head_;
  }
  if (head_ == pieces_.size()) {
    pieces_.clear();
    head_ = 0;
  } else if (head_ > 32 && head_ * 2 > pieces_.size()) {
    pieces_.erase(pieces_.begin(), pieces_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void BufferChain::clear() {
  pieces_.clear();
  head_ = 0;
  bytes_ = 0;
}

size_t BufferChain::toIovecs(struct iovec* out, size_t max) const {
  size_t n = 0;
  for (size_t i = head_; i < pieces_.size() && n < max; ++i, ++n) {
    out[n].iov_base = const_cast<char*>(pieces_[i].data);
    out[n].iov_len = pieces_[i].len;
  }
  return n;
}

void BufferChain::takeFront(size_t count, std::vector<Piece>& into) {
  for (size_t i = 0; i < count && head_ < pieces_.size(); ++i) {
    bytes_ -= pieces_[head_].len;
    into.push_back(std::move(pieces_[head_]));
    ++head_;
  }
  if (head_ == pieces_.size()) {
    pieces_.clear();
    head_ = 0;
  }
}

std::string BufferChain::toString() const {
  std::string out;
  out.reserve(bytes_);
  for (size_t i = head_; i < pieces_.size(); ++i) {
    out.append(pieces_[i].data, pieces_[i].len);
  }
  return out;
}

}  // namespace plexgate::buf
