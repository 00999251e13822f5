#include "engine/net/connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace plexgate::net {

namespace {
// libuv copies at most this many uv_buf_t per write without allocating more
// than once; 64 pieces is far more than a response head plus body needs.
constexpr size_t kMaxIovecs = 64;
}  // namespace

Connection::Connection(loop::EventLoop& loop, ConnectionHandler& handler)
    : loop_(loop), handler_(&handler), pending_(loop.slicePool()) {}

Connection::~Connection() = default;

void Connection::bind(Socket* socket) {
  if (socket == nullptr) {
    own_ = std::make_unique<Socket>();
    socket = own_.get();
  }
  sock_ = socket;
  sock_->conn = this;
  uv_tcp_init(loop_.uv(), &sock_->tcp);
  sock_->tcp.data = sock_;
  initialized_ = true;
}

bool Connection::accept(uv_stream_t* server, Socket* socket) {
  bind(socket);
  if (uv_accept(server, stream()) != 0) {
    close();
    return false;
  }
  uv_tcp_nodelay(&sock_->tcp, 1);
  readPeer();
  return true;
}

void Connection::readPeer() {
  sockaddr_storage peer{};
  int len = sizeof(peer);
  if (uv_tcp_getpeername(&sock_->tcp, reinterpret_cast<sockaddr*>(&peer), &len) == 0) {
    std::memcpy(&peer_, &peer, std::min(sizeof(peer_), static_cast<size_t>(len)));
  }
}

bool Connection::detach() {
  if (own_ || sock_ == nullptr || tls_ || !open() || connecting_ || !reading_ || inflight_bytes_ > 0 ||
      !pending_.empty() || rpos_ != wpos_) {
    return false;
  }
  sock_->conn = nullptr;
  sock_ = nullptr;
  // This object no longer speaks for a socket: close() and the destructor
  // leave the handle alone.
  initialized_ = false;
  reading_ = false;
  state_ = State::Closed;
  return true;
}

void Connection::adopt(Socket& socket) {
  sock_ = &socket;
  socket.conn = this;
  initialized_ = true;
  reading_ = true;  // parked while reading, and still in the poll set
  state_ = State::Open;
  readPeer();
}

Connection* Connection::of(uv_handle_t* h) {
  auto* s = static_cast<Socket*>(h->data);
  if (s->conn == nullptr) {
    static_cast<loop::EventLoop*>(h->loop->data)->wakeParked(h);
  }
  return s->conn;
}

sockaddr_storage Connection::peer() const {
  sockaddr_storage out{};
  std::memcpy(&out, &peer_, sizeof(peer_));
  return out;
}

int Connection::connect(const sockaddr* addr) {
  bind(nullptr);
  req_.connect.data = this;
  const int rc = uv_tcp_connect(&req_.connect, &sock_->tcp, addr, &Connection::onConnect);
  if (rc != 0) {
    close();
    return rc;
  }
  connecting_ = true;
  std::memcpy(&peer_, addr, addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
  return 0;
}

void Connection::onConnect(uv_connect_t* req, int status) {
  auto* self = static_cast<Connection*>(req->data);
  self->connecting_ = false;
  if (status == UV_ECANCELED || self->closing()) {
    return;  // closed while connecting; onClose follows
  }
  if (status == 0) {
    uv_tcp_nodelay(&self->sock_->tcp, 1);
    if (self->tls_) {
      // The ClientHello goes out now; onConnected follows the handshake.
      self->tls_->connecting = true;
      self->readStart();
      self->pumpTls();
      return;
    }
  }
  self->handler_->onConnected(status);
}

bool Connection::startServerTls(tls::ServerContextPtr context) {
  tls_ = std::make_unique<TlsState>(this, loop_.slicePool());
  tls_->session = tls::TlsSession::server(std::move(context), *this);
  return tls_->session != nullptr;
}

bool Connection::startClientTls(tls::ClientContextPtr context, std::string_view host,
                                tls::ClientSessionCache* cache) {
  tls_ = std::make_unique<TlsState>(this, loop_.slicePool());
  tls_->session = tls::TlsSession::client(std::move(context), host, cache, *this);
  return tls_->session != nullptr;
}

bool Connection::upgradeToClientTls(tls::ClientContextPtr context, std::string_view host,
                                    tls::ClientSessionCache* cache) {
  if (tls_ || !initialized_ || connecting_ || !open() || !unread().empty()) {
    return false;  // bytes already read would be plaintext taken for ciphertext
  }
  auto t = std::make_unique<TlsState>(this, loop_.slicePool());
  t->session = tls::TlsSession::client(std::move(context), host, cache, *this);
  if (t->session == nullptr) {
    return false;
  }
  tls_ = std::move(t);
  tls_->connecting = true;  // onConnected follows the handshake
  readStart();
  // The ClientHello goes out from the pump on the next turn, so the
  // handler's call never sees its own onConnected (or a write error).
  loop_.timeouts(0).arm(tls_->pump, loop_.now());
  return true;
}

void Connection::readStart() {
  if (state_ != State::Open && state_ != State::Lingering) {
    return;
  }
  if (!reading_) {
    reading_ = true;
    uv_read_start(stream(), &Connection::onAlloc, &Connection::onRead);
  }
  if (tls_ && tlsBuffered() && !tls_->pump.armed()) {
    // Records already read (or decrypted) would wait for the next socket
    // read that may never come: decrypt them on the next loop turn.
    loop_.timeouts(0).arm(tls_->pump, loop_.now());
  }
}

void Connection::readStop() {
  if (!reading_) {
    return;
  }
  reading_ = false;
  uv_read_stop(stream());
}

void Connection::onAlloc(uv_handle_t* h, size_t, uv_buf_t* out) {
  Connection* self = of(h);
  if (self == nullptr) {
    *out = uv_buf_init(nullptr, 0);  // nobody to read: onRead stops the handle
    return;
  }
  if (self->tls_) {
    // Ciphertext lands in its own slice; the session decrypts it into in_.
    TlsState& t = *self->tls_;
    if (!t.in) {
      t.in = buf::SliceRef(self->loop_.slicePool().acquire());
      t.rpos = t.wpos = 0;
    } else if (t.wpos == t.in->capacity) {
      const uint32_t left = t.wpos - t.rpos;
      std::memmove(t.in->data(), t.in->data() + t.rpos, left);
      t.rpos = 0;
      t.wpos = left;
    }
    *out = uv_buf_init(t.in->data() + t.wpos, t.in->capacity - t.wpos);
    return;
  }
  *out = self->inputSpace();
}

uv_buf_t Connection::inputSpace() {
  buf::SlicePool& pool = loop_.slicePool();
  if (!in_) {
    in_ = buf::SliceRef(pool.acquire());
    rpos_ = wpos_ = 0;
  } else if (wpos_ == in_->capacity) {
    if (rpos_ == wpos_ && in_.unique()) {
      rpos_ = wpos_ = 0;
    } else {
      // Parsed bytes still referenced (head spans, queued body pieces) keep
      // the old slice alive through their own refs; unparsed bytes move.
      buf::SliceRef fresh(pool.acquire());
      const uint32_t left = wpos_ - rpos_;
      std::memcpy(fresh->data(), in_->data() + rpos_, left);
      in_ = std::move(fresh);
      rpos_ = 0;
      wpos_ = left;
    }
  }
  return uv_buf_init(in_->data() + wpos_, in_->capacity - wpos_);
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
  if (tls_ && tls_->in && tls_->rpos == tls_->wpos) {
    tls_->in.reset();
  }
}

void Connection::onRead(uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
  Connection* self = static_cast<Socket*>(s->data)->conn;
  if (self == nullptr) {
    uv_read_stop(s);
    return;
  }
  if (nread > 0 && self->tls_) {
    TlsState& t = *self->tls_;
    t.wpos += static_cast<uint32_t>(nread);
    self->bytes_read_ += static_cast<uint64_t>(nread);
    if (self->state_ == State::Lingering || self->state_ == State::Finishing) {
      t.rpos = t.wpos;  // discarded: the session is done with input
      self->releaseIdleInput();
      return;
    }
    self->pumpTls();
    if (!self->closing()) {
      self->releaseIdleInput();
    }
    return;
  }
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
  if (nread == UV_ENOBUFS && self->tls_) {
    // Ciphertext fills its slice because the handler stopped taking
    // plaintext: pause; readStart() resumes the pump.
    self->readStop();
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
  if (self->tls_ && !self->tls_->session->handshakeDone()) {
    self->tls_->session->setFailure(nread == UV_EOF ? tls::Failure::Eof : tls::Failure::Other);
    self->tlsHandshakeFailed();
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
  if (closing() || write_error_ != 0) {
    chain.clear();  // nowhere to go; a failed write is reported once, later
    return;
  }
  if (tls_) {
    if (!tls_->session->handshakeDone()) {
      tls_->backlog.moveFrom(chain);
      return;
    }
    encrypt(chain);
  } else {
    pending_.moveFrom(chain);
  }
  if (inflight_bytes_ == 0) {
    flush();
  }
}

void Connection::flush() {
  if (pending_.empty()) {
    pending_.releaseTail();  // TLS records: an idle connection holds no slice
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
  const int taken = uv_try_write(stream(), bufs, static_cast<unsigned>(n));
  if (taken < 0 && taken != UV_EAGAIN) {
    failWrite(taken);  // reported on the next turn: our caller's objects stay put
    return;
  }
  if (taken > 0) {
    bytes_written_ += static_cast<uint64_t>(taken);
    pending_.drain(static_cast<size_t>(taken));
    if (pending_.empty()) {
      pending_.releaseTail();
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
  if (!write_req_) {
    write_req_ = std::make_unique<uv_write_t>();
  }
  write_req_->data = this;
  const int rc = uv_write(write_req_.get(), stream(), bufs,
                          static_cast<unsigned>(n), &Connection::onWrite);
  if (rc != 0) {
    // A synchronous failure: the callback never runs, so release here only.
    inflight_.clear();
    inflight_bytes_ = 0;
    failWrite(rc);
  }
}

void Connection::failWrite(int err) {
  pending_.clear();
  pending_.releaseTail();
  if (write_error_ != 0) {
    return;  // one report per connection
  }
  write_error_ = err;
  // flush() runs inside write(), finish() and our own callbacks: calling the
  // handler from here would let it free what write()'s caller still uses
  // (ProxyStream::sendHead once read from a connection fail() had dropped).
  // The zero-duration list runs the report on the next loop turn, after the
  // current callback stack has unwound.
  loop_.timeouts(0).arm(write_error_report_, loop_.now());
}

void Connection::onWriteErrorReport(loop::TimeoutNode& node) {
  auto* self = static_cast<Connection*>(node.owner());
  if (self->closing()) {
    return;  // close() cancels the report; nothing to tell after it anyway
  }
  self->handler_->onWriteError(self->write_error_);
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
    // Our own completion callback: nobody's call is on the stack, so the
    // handler hears at once. Later writes are dropped, as after failWrite.
    self->write_error_ = status;
    self->pending_.clear();
    self->handler_->onWriteError(status);
    return;
  }
  self->flush();
  if (self->open()) {  // not after a failure flush() found: its report follows
    self->handler_->onWritable();
  }
}

void Connection::finish() {
  if (state_ != State::Open) {
    return;
  }
  state_ = State::Finishing;
  if (tls_) {
    tls_->pump.cancel();
    tls_->session->shutdown();  // close_notify, queued behind the last response
  }
  if (inflight_bytes_ == 0) {
    flush();
  }
}

void Connection::startShutdown() {
  if (connecting_) {
    close();  // nothing was sent, and the connect request is still in flight
    return;
  }
  req_.shutdown.data = this;
  if (uv_shutdown(&req_.shutdown, stream(), &Connection::onShutdown) != 0) {
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

void Connection::close() { closeWith(false); }

void Connection::reset() { closeWith(true); }

void Connection::closeWith(bool reset) {
  if (state_ == State::Closing || state_ == State::Closed) {
    return;
  }
  state_ = State::Closing;
  reading_ = false;
  write_error_report_.cancel();  // a failed write's report is moot now
  if (tls_) {
    tls_->pump.cancel();
  }
  if (!initialized_) {
    state_ = State::Closed;
    handler_->onClosed();
    return;
  }
  if (reset && uv_tcp_close_reset(&sock_->tcp, &Connection::onClose) == 0) {
    return;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&sock_->tcp), &Connection::onClose);
}

void Connection::onClose(uv_handle_t* h) {
  Connection* self = static_cast<Socket*>(h->data)->conn;
  self->state_ = State::Closed;
  self->pending_.clear();
  self->in_.reset();
  if (self->tls_) {
    self->tls_->in.reset();
    self->tls_->backlog.clear();
  }
  self->handler_->onClosed();
}

// ---- TLS --------------------------------------------------------------------

bool Connection::tlsBuffered() const {
  return (tls_->rpos != tls_->wpos) || tls_->session->pendingPlaintext() > 0;
}

void Connection::onTlsPump(loop::TimeoutNode& node) {
  auto* self = static_cast<Connection*>(node.owner());
  if (!self->closing() && self->reading_) {
    self->pumpTls();
    if (!self->closing()) {
      self->releaseIdleInput();
    }
  }
}

void Connection::onTlsOutput(const char* data, size_t n) {
  if (write_error_ != 0) {
    return;  // records made after a failed write (alerts, close_notify) have nowhere to go
  }
  pending_.appendCopy(std::string_view(data, n));
}

void Connection::pumpTls() {
  TlsState& t = *tls_;
  tls::TlsSession& session = *t.session;
  for (;;) {
    std::string_view cipher(t.in ? t.in->data() + t.rpos : nullptr, t.wpos - t.rpos);
    const size_t before = cipher.size();
    if (!session.handshakeDone()) {
      const tls::TlsSession::Status st = session.handshake(cipher);
      t.rpos += static_cast<uint32_t>(before - cipher.size());
      if (!pending_.empty() && inflight_bytes_ == 0) {
        flush();  // our handshake flight (or the alert that ends it)
        if (closing() || write_error_ != 0) {
          return;  // a failed flight: onWriteError follows on the next turn
        }
      }
      if (st == tls::TlsSession::Status::WantRead) {
        return;
      }
      if (st != tls::TlsSession::Status::Ok) {
        tlsHandshakeFailed();
        return;
      }
      if (!t.backlog.empty()) {
        encrypt(t.backlog);
        if (inflight_bytes_ == 0) {
          flush();
        }
        if (closing() || write_error_ != 0) {
          return;  // onWriteError follows on the next turn, not onConnected
        }
      }
      if (t.connecting) {
        t.connecting = false;
        handler_->onConnected(0);
      } else {
        // Acknowledge the client's Finished at once: with no tickets to
        // carry the ACK, a client with Nagle on would hold its request for
        // our delayed ACK (~40 ms). One setsockopt per full handshake.
        uv_os_fd_t fd;
        if (uv_fileno(reinterpret_cast<uv_handle_t*>(&sock_->tcp), &fd) == 0) {
          const int one = 1;
          ::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
        }
        handler_->onTlsHandshake();
      }
      if (closing()) {
        return;
      }
      continue;
    }
    if (!reading_ || (cipher.empty() && session.pendingPlaintext() == 0)) {
      return;  // the handler paused; readStart() resumes the pump
    }
    const uv_buf_t space = inputSpace();
    if (space.len == 0) {
      return;  // unconsumed plaintext fills the slice; wait for the handler
    }
    const tls::TlsSession::ReadResult r = session.read(cipher, space.base, space.len);
    t.rpos += static_cast<uint32_t>(before - cipher.size());
    if (!pending_.empty() && inflight_bytes_ == 0) {
      flush();  // post-handshake replies (key updates); a failure is reported later,
      if (closing()) {  // and what was just decrypted is still delivered
        return;
      }
    }
    switch (r.status) {
      case tls::TlsSession::Status::Ok:
        wpos_ += static_cast<uint32_t>(r.n);
        handler_->onData();
        if (closing()) {
          return;
        }
        continue;
      case tls::TlsSession::Status::WantRead:
        return;
      case tls::TlsSession::Status::Closed:
        // close_notify: the peer finished sending, as an EOF would say.
        readStop();
        peer_eof_ = true;
        handler_->onEof();
        return;
      case tls::TlsSession::Status::Failed:
        readStop();
        handler_->onReadError(kErrTlsProtocol);
        return;
    }
  }
}

void Connection::tlsHandshakeFailed() {
  readStop();
  const int err = tls_->session->certificateError() ? kErrTlsCertificate : kErrTlsHandshake;
  if (tls_->connecting) {
    tls_->connecting = false;
    handler_->onConnected(err);
    return;
  }
  handler_->onReadError(err);
}

void Connection::encrypt(buf::BufferChain& chain) {
  // Whole flush batches become as few records as their size allows: small
  // pieces (a head, a short body) are gathered into one 16 KiB record
  // instead of a record (and its 22+ bytes and AEAD pass) per piece.
  constexpr size_t kRecord = 16 * 1024;
  char stage[kRecord];
  size_t staged = 0;
  tls::TlsSession& session = *tls_->session;
  bool ok = true;
  while (!chain.empty() && ok) {
    struct iovec iov[kMaxIovecs];
    const size_t n = chain.toIovecs(iov, kMaxIovecs);
    size_t taken = 0;
    for (size_t i = 0; i < n && ok; ++i) {
      const char* p = static_cast<const char*>(iov[i].iov_base);
      size_t len = iov[i].iov_len;
      taken += len;
      while (len > 0 && ok) {
        if (staged == 0 && len >= kRecord) {
          const size_t whole = len - len % kRecord;
          ok = session.write(p, whole);  // big pieces go straight in
          p += whole;
          len -= whole;
          continue;
        }
        const size_t take = std::min(len, kRecord - staged);
        std::memcpy(stage + staged, p, take);
        staged += take;
        p += take;
        len -= take;
        if (staged == kRecord) {
          ok = session.write(stage, staged);
          staged = 0;
        }
      }
    }
    chain.drain(taken);
  }
  if (ok && staged > 0) {
    ok = session.write(stage, staged);
  }
  chain.clear();
  if (!ok) {
    failWrite(kErrTlsProtocol);  // called from write(): report on the next turn
  }
}

}  // namespace plexgate::net
