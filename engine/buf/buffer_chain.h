// BufferChain: an ordered list of byte pieces, each a view into a refcounted
// slice (or into external memory whose owner outlives the chain). Bytes are
// appended by reference (zero copy) or copied into the chain's own tail slice
// (small heads and framing), drained from the front as writes complete, and
// moved between chains without copying. One loop only.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/buf/slice.h"

namespace plexgate::buf {

class BufferChain {
 public:
  struct Piece {
    SliceRef owner;  // empty for external memory
    const char* data;
    uint32_t len;
  };

  explicit BufferChain(SlicePool& pool) : pool_(&pool) {}
  BufferChain(const BufferChain&) = delete;
  BufferChain& operator=(const BufferChain&) = delete;
  BufferChain(BufferChain&&) = default;
  BufferChain& operator=(BufferChain&&) = default;

  // Copies bytes into the chain's tail slice (merging with the last piece
  // when contiguous). For heads, framing and small bodies.
  void appendCopy(std::string_view bytes);
  // Reserves `n` writable bytes at the tail (n <= kDefaultSliceSize); fill
  // them, then commit(used <= n). Lets serializers write in place.
  char* reserve(size_t n);
  void commit(size_t used);
  // Appends a view into `owner` by reference (no copy).
  void appendRef(const SliceRef& owner, const char* data, size_t len);
  // Appends memory the caller keeps alive until the chain has drained it.
  void appendExternal(std::string_view bytes);
  // Moves every piece of `other` to the end of this chain.
  void moveFrom(BufferChain& other);
  // Appends every piece of `other` by reference (slice refs shared, no copy).
  void appendRefsOf(const BufferChain& other);
  // Drops `n` bytes from the front.
  void drain(size_t n);
  void clear();
  // Lets go of the tail slice that appendCopy/reserve write into (pieces
  // keep their own references). For chains of idle connections: 10,000 idle
  // keep-alive connections should not each hold a 16 KiB slice.
  void releaseTail() {
    tail_.reset();
    tail_used_ = 0;
  }

  size_t size() const { return bytes_; }
  bool empty() const { return bytes_ == 0; }
  size_t pieceCount() const { return pieces_.size() - head_; }
  const Piece& piece(size_t i) const { return pieces_[head_ + i]; }
  // Fills up to `max` iovecs from the front; returns how many.
  size_t toIovecs(struct iovec* out, size_t max) const;
  // Moves the first `count` pieces out (for a write in flight to pin them).
  void takeFront(size_t count, std::vector<Piece>& into);
  // Copies everything into one string (tests, logs).
  std::string toString() const;
  SlicePool& pool() const { return *pool_; }

 private:
  void push(Piece&& p);

  SlicePool* pool_;
  std::vector<Piece> pieces_;
  size_t head_ = 0;  // pieces_[0, head_) are drained and empty
  size_t bytes_ = 0;
  SliceRef tail_;        // slice that appendCopy/reserve write into
  uint32_t tail_used_ = 0;
};

}  // namespace plexgate::buf
