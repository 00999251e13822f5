#include "engine/net/connection.h"

#include <cstring>

namespace plexgate::net {

namespace {
// libuv copies at most this many uv_buf_t per write without allocating more
// than once; 64 pieces is far more than a response head plus body needs.
constexpr size_t kMaxIovecs = 64;
}  // namespace

Connection::Connection(loop::EventLoop& loop, ConnectionHandler& handler)
    : loop_(loop), handler_(&handler), pending_(loop.slicePool()) {
  inflight_.reserve(8);
}

Connection::~Connection() = default;

bool Connection::accept(uv_stream_t* server) {
  uv_tcp_init(loop_.uv(), &tcp_);
  tcp_.data = this;
  initialized_ = true;
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&tcp_)) != 0) {
    close();
    return false;
  }
  uv_tcp_nodelay(&tcp_, 1);
  int len = sizeof(peer_);
  uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&peer_), &len);
  return true;
}

int Connection::connect(const sockaddr* addr) {
  uv_tcp_init(loop_.uv(), &tcp_);
  tcp_.data = this;
  initialized_ = true;
  connect_req_.data = this;
  const int rc = uv_tcp_connect(&connect_req_, &tcp_, addr, &Connection::onConnect);
  if (rc != 0) {
    close();
    return rc;
  }
  std::memcpy(&peer_, addr, addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
  return 0;
}

void Connection::onConnect(uv_connect_t* req, int status) {
  auto* self = static_cast<Connection*>(req->data);
  if (status == UV_ECANCELED || self->closing()) {
    return;  // closed while connecting; onClose follows
  }
  if (status == 0) {
    uv_tcp_nodelay(&self->tcp_, 1);
  }
  self->handler_->onConnected(status);
}

void Connection::readStart() {
  if (reading_ || (state_ != State::Open && state_ != State::Lingering)) {
    return;
  }
  reading_ = true;
  uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &Connection::onAlloc, &Connection::onRead);
}

void Connection::readStop() {
  if (!reading_) {
    return;
  }
  reading_ = false;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
}

void Connection::onAlloc(uv_handle_t* h, size_t, uv_buf_t* out) {
  auto* self = static_cast<Connection*>(h->data);
  buf::SlicePool& pool = self->loop_.slicePool();
  if (!self->in_) {
    self->in_ = buf::SliceRef(pool.acquire());
    self->rpos_ = self->wpos_ = 0;
  } else if (self->wpos_ == self->in_->capacity) {
    if (self->rpos_ == self->wpos_ && self->in_.unique()) {
      self->rpos_ = self->wpos_ = 0;
    } else {
      // Parsed bytes still referenced (head spans, queued body pieces) keep
      // the old slice alive through their own refs; unparsed bytes move.
      buf::SliceRef fresh(pool.acquire());
      const uint32_t left = self->wpos_ - self->rpos_;
      std::memcpy(fresh->data(), self->in_->data() + self->rpos_, left);
      self->in_ = std::move(fresh);
      self->rpos_ = 0;
      self->wpos_ = left;
    }
  }
  *out = uv_buf_init(self->in_->data() + self->wpos_, self->in_->capacity - self->wpos_);
}

void Connection::releaseIdleInput() {
  // An idle keep-alive connection holds no slice: 10k idle connections should
  // not pin 160 MiB of read buffers.
  if (in_ && rpos_ == wpos_) {
    if (in_.unique()) {
      in_.reset();
    } else if (wpos_ == in_->capacity) {
      in_.reset();
    }
  }
}

void Connection::onRead(uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
  auto* self = static_cast<Connection*>(s->data);
  if (nread > 0) {
    self->wpos_ += static_cast<uint32_t>(nread);
    self->bytes_read_ += static_cast<uint64_t>(nread);
    if (self->state_ == State::Lingering || self->state_ == State::Finishing) {
      self->rpos_ = self->wpos_;  // discarded: the session is done with input
      self->releaseIdleInput();
      return;
    }
    self->handler_->onData();
    if (!self->closing()) {
      self->releaseIdleInput();
    }
    return;
  }
  if (nread == 0) {
    self->releaseIdleInput();  // EAGAIN: the slice was not used
    return;
  }
  self->readStop();
  if (self->state_ == State::Lingering || self->state_ == State::Finishing) {
    self->peer_eof_ = true;  // nothing more to discard: close once written
    if (self->state_ == State::Lingering) {
      self->close();
    }
    return;
  }
  if (nread == UV_EOF) {
    self->peer_eof_ = true;
    self->handler_->onEof();
  } else {
    self->handler_->onReadError(static_cast<int>(nread));
  }
}

void Connection::consume(size_t n) { rpos_ += static_cast<uint32_t>(n); }

void Connection::write(buf::BufferChain& chain) {
  if (closing()) {
    chain.clear();
    return;
  }
  pending_.moveFrom(chain);
  if (inflight_bytes_ == 0) {
    flush();
  }
}

void Connection::flush() {
  if (pending_.empty()) {
    if (state_ == State::Finishing) {
      startShutdown();
    }
    return;
  }
  struct iovec iov[kMaxIovecs];
  uv_buf_t bufs[kMaxIovecs];
  size_t n = pending_.toIovecs(iov, kMaxIovecs);
  for (size_t i = 0; i < n; ++i) {
    bufs[i] = uv_buf_init(static_cast<char*>(iov[i].iov_base), static_cast<unsigned>(iov[i].iov_len));
  }
  // Try the kernel first (Node's StreamBase does the same): a write it takes
  // whole needs no request, no completion callback and, with libuv 1.44, no
  // epoll_ctl to re-arm the watcher afterwards.
  const int taken = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), bufs, static_cast<unsigned>(n));
  if (taken < 0 && taken != UV_EAGAIN) {
    pending_.clear();
    handler_->onWriteError(taken);
    return;
  }
  if (taken > 0) {
    bytes_written_ += static_cast<uint64_t>(taken);
    pending_.drain(static_cast<size_t>(taken));
    if (pending_.empty()) {
      if (state_ == State::Finishing) {
        startShutdown();
      }
      return;
    }
    n = pending_.toIovecs(iov, kMaxIovecs);
    for (size_t i = 0; i < n; ++i) {
      bufs[i] = uv_buf_init(static_cast<char*>(iov[i].iov_base), static_cast<unsigned>(iov[i].iov_len));
    }
  }
  // The rest waits for the socket: one write in flight, pinning its pieces.
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    total += iov[i].iov_len;
  }
  pending_.takeFront(n, inflight_);
  inflight_bytes_ = total;
  write_req_.data = this;
  const int rc = uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(&tcp_), bufs,
                          static_cast<unsigned>(n), &Connection::onWrite);
  if (rc != 0) {
    // A synchronous failure: the callback never runs, so release here only.
    inflight_.clear();
    inflight_bytes_ = 0;
    handler_->onWriteError(rc);
  }
}

void Connection::onWrite(uv_write_t* req, int status) {
  auto* self = static_cast<Connection*>(req->data);
  self->inflight_.clear();
  self->bytes_written_ += status == 0 ? self->inflight_bytes_ : 0;
  self->inflight_bytes_ = 0;
  if (status == UV_ECANCELED || self->closing()) {
    return;  // closing cancelled it; onClose follows
  }
  if (status < 0) {
    self->handler_->onWriteError(status);
    return;
  }
  self->flush();
  if (!self->closing() && self->state_ == State::Open) {
    self->handler_->onWritable();
  }
}

void Connection::finish() {
  if (state_ != State::Open) {
    return;
  }
  state_ = State::Finishing;
  if (inflight_bytes_ == 0) {
    flush();
  }
}

void Connection::startShutdown() {
  shutdown_req_.data = this;
  if (uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &Connection::onShutdown) != 0) {
    close();
  }
}

void Connection::onShutdown(uv_shutdown_t* req, int status) {
  auto* self = static_cast<Connection*>(req->data);
  if (status == UV_ECANCELED || self->closing()) {
    return;
  }
  if (status < 0) {
    self->close();
    return;
  }
  if (self->peer_eof_) {
    self->close();
    return;
  }
  self->state_ = State::Lingering;
  self->readStart();
}

void Connection::close() {
  if (state_ == State::Closing || state_ == State::Closed) {
    return;
  }
  state_ = State::Closing;
  reading_ = false;
  if (!initialized_) {
    state_ = State::Closed;
    handler_->onClosed();
    return;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Connection::onClose);
}

void Connection::onClose(uv_handle_t* h) {
  auto* self = static_cast<Connection*>(h->data);
  self->state_ = State::Closed;
  self->pending_.clear();
  self->in_.reset();
  self->handler_->onClosed();
}

}  // namespace plexgate::net
