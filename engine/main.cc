// plexgate: command line, configuration, signals, workers, graceful drain.
// The main thread runs the control loop; workers run their own loops.
#include <signal.h>
#include <llhttp.h>
#include <uv.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/config/config.h"
#include "engine/config/config_loader.h"
#include "engine/config/config_values.h"
#include "engine/loop/event_loop.h"
#include "engine/proxy/health_checker.h"
#include "engine/server/access_log.h"
#include "engine/server/log.h"
#include "engine/server/worker_set.h"
#include "tls/boringssl_version.h"
#include "tls/tls_context.h"

namespace {

using namespace plexgate;

constexpr const char* kUsage = R"(plexgate: a fast API gateway and edge proxy

Usage:
  plexgate -c FILE                 run with the configuration in FILE (YAML)
  plexgate --check FILE            validate FILE and exit (0 valid, 1 invalid)
  plexgate respond --listen ADDR [options]
                                   answer every request with a fixed response
      --status N                   status code (default 200)
      --body TEXT | --body-size N  body text, or N bytes of 'x' (16k, 1m allowed)
      --header 'Name: value'       extra response header (repeatable)
      --delay DURATION             wait before answering (250ms, 2s)
      --cert FILE --key FILE       serve HTTPS with this PEM chain and key
      --workers N                  worker loops (default: one per CPU)
      --access-log                 log requests to stdout (off by default)
  plexgate proxy --listen ADDR --to URL [--to URL ...] [options]
                                   reverse-proxy everything to the --to instances
      --lb POLICY                  round_robin (default), least_request
      --max-body SIZE              largest request body (default 16m; 413 past it)
      --cert FILE --key FILE       serve HTTPS with this PEM chain and key
      --ca FILE                    trust FILE's CAs for https:// --to instances
                                   (default: the system bundle; names are verified)
      --insecure                   do not verify https:// --to instances
      --workers N                  worker loops (default: one per CPU)
      --access-log                 log requests to stdout (off by default)
  plexgate --version
  plexgate --help

Signals: SIGTERM/SIGINT drain (finish in-flight requests, then exit; a second
one closes every connection at once); SIGHUP reloads the -c FILE (all but
listeners and workers; a bad file is refused); SIGUSR1 reopens
the access log file (log rotation).
)";

int usageError(const std::string& msg) {
  std::fprintf(stderr, "plexgate: %s\n(see plexgate --help)\n", msg.c_str());
  return 2;
}

const std::vector<std::string_view> kRespondOptions = {"--listen", "--status", "--body", "--body-size", "--header",
                                                       "--delay",  "--cert",   "--key",  "--workers"};
const std::vector<std::string_view> kProxyOptions = {"--listen",   "--to",   "--workers", "--lb",
                                                     "--max-body", "--cert", "--key",     "--ca"};

bool isOneOf(std::string_view arg, const std::vector<std::string_view>& names) {
  for (std::string_view n : names) {
    if (arg == n) {
      return true;
    }
  }
  return false;
}

// An integer in [low, high] in decimal digits only, as the file's numbers:
// strtol would also take " 5", "+5" and "".
std::optional<uint32_t> parseIntIn(std::string_view text, uint32_t low, uint32_t high) {
  const std::optional<uint64_t> n = config::detail::parseUnsigned(text);
  if (!n || *n < low || *n > high) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(*n);
}

struct QuickRespond {
  std::string listen;
  std::string cert;
  std::string key;
  config::RespondAction action;
  uint32_t workers = 0;
  bool access_log = false;
};

// Parses `plexgate respond ...`; returns an error message or "".
std::string parseRespond(int argc, char** argv, QuickRespond& q) {
  bool have_body = false;
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::string_view name) -> std::optional<std::string> {
      if (i + 1 >= argc) {
        return std::nullopt;
      }
      (void)name;
      return std::string(argv[++i]);
    };
    if (arg == "--access-log") {
      q.access_log = true;
      continue;
    }
    if (!isOneOf(arg, kRespondOptions)) {
      return "unknown option " + std::string(arg);
    }
    auto v = value(arg);
    if (!v) {
      return std::string(arg) + " needs a value";
    }
    if (arg == "--listen") {
      q.listen = *v;
    } else if (arg == "--status") {
      const std::optional<uint32_t> s = parseIntIn(*v, 200, 599);
      if (!s) {
        return "--status: expected an integer from 200 to 599, got '" + *v + "'";
      }
      q.action.status = static_cast<int>(*s);
    } else if (arg == "--body") {
      if (have_body) {
        return "--body and --body-size are exclusive";
      }
      have_body = true;
      q.action.body = *v;
    } else if (arg == "--body-size") {
      if (have_body) {
        return "--body and --body-size are exclusive";
      }
      have_body = true;
      const auto n = config::parseSize(*v);
      if (!n || *n > config::kMaxRespondBodySize) {
        return "--body-size: expected a size up to 1g like 512, 16k or 1m, got '" + *v + "'";
      }
      q.action.body_size = *n;
    } else if (arg == "--header") {
      const size_t colon = v->find(':');
      if (colon == std::string::npos || colon == 0) {
        return "--header: expected 'Name: value', got '" + *v + "'";
      }
      std::string name = v->substr(0, colon);
      std::string val = v->substr(colon + 1);
      while (!val.empty() && val.front() == ' ') {
        val.erase(0, 1);
      }
      // The same rules as a file's respond.headers: no second Content-Length,
      // no CR/LF smuggling another header or response into the answer.
      if (const std::string why = config::respondHeaderProblem(name, val); !why.empty()) {
        return "--header '" + name + "': " + why;
      }
      q.action.headers.emplace_back(std::move(name), std::move(val));
    } else if (arg == "--delay") {
      const auto d = config::parseDuration(*v);
      if (!d || *d > config::kMaxRespondDelay) {
        return "--delay: expected a duration up to 1h like 500ms or 2s, got '" + *v + "'";
      }
      q.action.delay = *d;
    } else if (arg == "--cert") {
      q.cert = *v;
    } else if (arg == "--key") {
      q.key = *v;
    } else if (arg == "--workers") {
      const std::optional<uint32_t> n = parseIntIn(*v, 1, 1024);
      if (!n) {
        return "--workers: expected an integer from 1 to 1024, got '" + *v + "'";
      }
      q.workers = *n;
    } else {
      return "unknown option " + std::string(arg);
    }
  }
  if (q.listen.empty()) {
    return "respond needs --listen ADDR (like 127.0.0.1:8080)";
  }
  if (q.cert.empty() != q.key.empty()) {
    return "--cert and --key go together";
  }
  return "";
}

config::ConfigPtr quickConfig(const QuickRespond& q, std::string& error) {
  auto cfg = std::make_shared<config::Config>();
  cfg->workers = q.workers;
  config::Listener l;
  l.name = "respond";
  l.address = q.listen;
  if (const std::string why = config::listenAddressProblem(q.listen, l.host, l.port); !why.empty()) {
    error = "--listen: " + why;
    return nullptr;
  }
  config::Route r;
  r.prefix = "/";
  r.action = q.action;
  l.routes.push_back(std::move(r));
  if (!q.cert.empty()) {
    tls::ServerOptions o;
    o.certificates.push_back(tls::CertificateOptions{q.cert, q.key, {}});
    std::string why;
    l.tls_context = tls::ServerContext::build(o, why);
    if (!l.tls_context) {
      error = "--cert/--key: " + why;
      return nullptr;
    }
    l.tls = std::move(o);
  }
  cfg->listeners.push_back(std::move(l));
  cfg->access_log.enabled = q.access_log;
  return cfg;
}

std::string yamlQuote(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

// `plexgate proxy ...` becomes a small YAML document, so it goes through
// exactly the validation (and error messages) a config file gets.
std::string parseProxy(int argc, char** argv, std::string& yaml) {
  std::string listen;
  std::string workers = "auto";
  std::string lb = "round_robin";
  std::string max_body;
  std::string cert, key, ca;
  std::vector<std::string> to;
  bool access_log = false;
  bool insecure = false;
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--access-log") {
      access_log = true;
      continue;
    }
    if (arg == "--insecure") {
      insecure = true;
      continue;
    }
    if (!isOneOf(arg, kProxyOptions)) {
      return "unknown option " + std::string(arg);
    }
    if (i + 1 >= argc) {
      return std::string(arg) + " needs a value";
    }
    const std::string v = argv[++i];
    if (arg == "--listen") {
      listen = v;
    } else if (arg == "--to") {
      to.push_back(v);
    } else if (arg == "--workers") {
      workers = v;
    } else if (arg == "--lb") {
      lb = v;
    } else if (arg == "--max-body") {
      max_body = v;
    } else if (arg == "--cert") {
      cert = v;
    } else if (arg == "--key") {
      key = v;
    } else if (arg == "--ca") {
      ca = v;
    } else {
      return "unknown option " + std::string(arg);
    }
  }
  if (listen.empty() || to.empty()) {
    return "proxy needs --listen ADDR and at least one --to URL";
  }
  if (lb != "round_robin" && lb != "least_request") {
    return "--lb: expected round_robin or least_request, got '" + lb + "'";
  }
  if (cert.empty() != key.empty()) {
    return "--cert and --key go together";
  }
  bool https = false;
  for (const std::string& t : to) {
    https = https || t.rfind("https://", 0) == 0;
  }
  if ((!ca.empty() || insecure) && !https) {
    return std::string(insecure ? "--insecure" : "--ca") + " applies to https:// --to instances, and there are none";
  }
  yaml = "workers: " + yamlQuote(workers) + "\nlisteners:\n  - name: proxy\n    address: " + yamlQuote(listen) + "\n";
  if (!cert.empty()) {
    yaml += "    tls: {cert: " + yamlQuote(cert) + ", key: " + yamlQuote(key) + "}\n";
  }
  yaml += "    routes:\n      - prefix: /\n        proxy: {cluster: to}\nclusters:\n  - name: to\n    lb: " +
          yamlQuote(lb) + "\n";
  if (!ca.empty() || insecure) {
    yaml += std::string("    tls: {verify: ") + (insecure ? "false" : "true") +
            (ca.empty() ? std::string() : ", ca_file: " + yamlQuote(ca)) + "}\n";
  }
  yaml += "    endpoints:\n";
  for (const std::string& t : to) {
    yaml += "      - " + yamlQuote(t) + "\n";
  }
  yaml += std::string("access_log:\n  enabled: ") + (access_log ? "true" : "false") + "\n";
  if (!max_body.empty()) {
    yaml += "limits:\n  max_body_bytes: " + yamlQuote(max_body) + "\n";
  }
  return "";
}

// The option a key of parseProxy's document came from, so an error names
// what the operator typed: "clusters[0].endpoints[1]" -> "--to".
std::string proxyFlagOf(const std::string& key) {
  static const std::pair<std::string_view, std::string_view> kFlags[] = {
      {"workers", "--workers"},
      {"listeners[0].address", "--listen"},
      {"listeners[0].tls", "--cert/--key"},
      {"clusters[0].endpoints", "--to"},
      {"clusters[0].lb", "--lb"},
      {"clusters[0].tls", "--ca"},
      {"limits.max_body_bytes", "--max-body"},
  };
  for (const auto& [prefix, flag] : kFlags) {
    if (std::string_view(key).starts_with(prefix)) {
      return std::string(flag);
    }
  }
  return key.empty() ? std::string("proxy") : key;
}

// The loader's warnings about a file: at log_level warn and below when
// running it, always for --check.
void printWarnings(const config::Config& cfg, bool always = false) {
  for (const std::string& w : cfg.warnings) {
    if (always) {
      std::fprintf(stderr, "plexgate: warning: %s\n", w.c_str());
    } else {
      server::logf(config::LogLevel::Warn, "%s", w.c_str());
    }
  }
}

struct Control {
  loop::EventLoop loop;
  std::unique_ptr<server::WorkerSet> workers;
  std::unique_ptr<proxy::HealthChecker> health;
  config::ConfigPtr config;   // the last file loaded; its timeouts.drain applies
  config::ConfigPtr started;  // what the workers were built with (their count needs a restart)
  uv_signal_t sigterm;
  uv_signal_t sigint;
  uv_signal_t sighup;
  uv_signal_t sigusr1;
  server::AccessLogWriter* access_log = nullptr;  // made even when the log is off
  std::string config_path;  // "" in the quick modes: nothing to reload
  std::vector<std::unique_ptr<proxy::HealthChecker>> retired_health;
  bool draining = false;
  bool ok = true;
};

void onSignal(uv_signal_t* h, int signum) {
  auto* c = static_cast<Control*>(h->data);
  if (c->draining) {
    server::logf(config::LogLevel::Info, "%s again: closing every connection now", strsignal(signum));
    c->workers->drain(config::Millis(0));
    return;
  }
  c->draining = true;
  c->health->stop();
  server::logf(config::LogLevel::Info, "%s: draining (up to %lld ms)", strsignal(signum),
               static_cast<long long>(c->config->timeouts.drain.count()));
  c->workers->drain(c->config->timeouts.drain);
}

// SIGHUP: reload the file; a bad file is refused and the running
// configuration stays. Routes and clusters change from each connection's
// next request; listeners need a restart.
void onReload(uv_signal_t* h, int) {
  auto* c = static_cast<Control*>(h->data);
  if (c->config_path.empty()) {
    server::logf(config::LogLevel::Info, "SIGHUP ignored: no -c file to reload in this mode");
    return;
  }
  if (c->draining) {
    server::logf(config::LogLevel::Info, "SIGHUP ignored: draining");
    return;
  }
  const auto result = config::loadFile(c->config_path);
  if (!result.ok()) {
    c->workers->reloads().refused.fetch_add(1, std::memory_order_relaxed);  // counted before it is said
    server::logf(config::LogLevel::Error, "reload refused, keeping the running configuration: %s",
                 result.error->toString().c_str());
    return;
  }
  printWarnings(*result.config);
  // The access log first: a request served on the new routes is logged the
  // new way. The loader checked that a new path opens; only a race fails.
  const std::string log_error = c->access_log->reconfigure(result.config->access_log);
  const std::string why = c->workers->publish(result.config);
  if (!why.empty()) {
    c->access_log->reconfigure(c->config->access_log);  // back, with the rest
    c->workers->reloads().refused.fetch_add(1, std::memory_order_relaxed);
    server::logf(config::LogLevel::Error, "reload refused, keeping the running configuration: %s", why.c_str());
    return;
  }
  c->workers->reloads().applied.fetch_add(1, std::memory_order_relaxed);
  c->health->stop();
  c->retired_health.push_back(std::move(c->health));
  c->health = std::make_unique<proxy::HealthChecker>(c->loop, c->workers->upstreams());
  c->health->start();
  // Said, not silently dropped: the operator must not believe it applied.
  // (Listeners, the other restart-only part, are refused by publish.)
  const bool workers_pending = result.config->workers != c->started->workers;
  // The next drain uses the reloaded timeouts.drain.
  c->config = result.config;
  server::setLogLevel(c->config->log_level);
  server::logf(config::LogLevel::Info, "reloaded %s", c->config_path.c_str());
  if (workers_pending) {
    server::logf(config::LogLevel::Warn, "workers changed in %s; the running values stay until a restart",
                 c->config_path.c_str());
  }
  if (!log_error.empty()) {
    server::logf(config::LogLevel::Error, "%s; the access log stays as it was", log_error.c_str());
  }
}

// SIGUSR1: log rotation, as nginx does it: the access log file is opened
// again by name (the moved one gets what was already buffered).
void onReopen(uv_signal_t* h, int) {
  auto* c = static_cast<Control*>(h->data);
  if (c->access_log == nullptr || !c->access_log->hasFile()) {
    server::logf(config::LogLevel::Info, "SIGUSR1 ignored: no access log file");
    return;
  }
  server::logf(config::LogLevel::Info, "SIGUSR1: reopening the access log");
  c->access_log->reopen();
}

int runServer(config::ConfigPtr cfg, const std::string& config_path = "") {
  server::setLogLevel(cfg->log_level);
  printWarnings(*cfg);
  // Made even when off, so that a reload can switch it on.
  const size_t workers = cfg->workers != 0 ? cfg->workers : server::defaultWorkerCount();
  std::string log_error;
  std::unique_ptr<server::AccessLogWriter> access_log = server::AccessLogWriter::open(cfg->access_log, workers, log_error);
  if (!access_log) {
    std::fprintf(stderr, "plexgate: %s\n", log_error.c_str());
    return 1;
  }
  Control c;
  c.config = cfg;
  c.started = cfg;
  c.config_path = config_path;
  std::string error;
  c.workers = server::WorkerSet::create(cfg, workers, access_log.get(), error);
  if (!c.workers) {
    std::fprintf(stderr, "plexgate: %s\n", error.c_str());
    return 1;
  }
  // Caught before the "listener ... on" lines announce the process ready:
  // a SIGHUP sent on seeing them used to find the default action (exit).
  // The callbacks run only once the loop runs, after the setup below.
  uv_signal_init(c.loop.uv(), &c.sigterm);
  uv_signal_init(c.loop.uv(), &c.sigint);
  c.sigterm.data = c.sigint.data = &c;
  uv_signal_start(&c.sigterm, &onSignal, SIGTERM);
  uv_signal_start(&c.sigint, &onSignal, SIGINT);
  uv_signal_init(c.loop.uv(), &c.sighup);
  c.sighup.data = &c;
  uv_signal_start(&c.sighup, &onReload, SIGHUP);
  c.access_log = access_log.get();
  uv_signal_init(c.loop.uv(), &c.sigusr1);
  c.sigusr1.data = &c;
  uv_signal_start(&c.sigusr1, &onReopen, SIGUSR1);
  for (size_t i = 0; i < cfg->listeners.size(); ++i) {
    server::logf(config::LogLevel::Info, "listener %s on %s://%s (%zu workers)", cfg->listeners[i].name.c_str(),
                 cfg->listeners[i].tls_context ? "https" : "http", c.workers->addresses()[i].toString().c_str(),
                 c.workers->size());
  }
  for (const std::string& name : c.workers->upstreams()->unresolved()) {
    server::logf(config::LogLevel::Warn, "upstream %s does not resolve; requests to it get 502", name.c_str());
  }
  c.health = std::make_unique<proxy::HealthChecker>(c.loop, c.workers->upstreams());
  c.health->start();
  c.workers->start(c.loop, [&c](bool ok) {
    c.ok = ok;
    c.health->stop();
    uv_close(reinterpret_cast<uv_handle_t*>(&c.sigterm), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&c.sigint), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&c.sighup), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&c.sigusr1), nullptr);
    c.loop.stop();
  });
  const int rc = c.loop.run();
  c.workers->join();
  if (access_log) {
    access_log->stop();
  }
  const auto totals = c.workers->totals();
  server::logf(config::LogLevel::Info, "stopped after %llu requests on %llu connections",
               static_cast<unsigned long long>(totals.requests),
               static_cast<unsigned long long>(totals.connections_accepted));
  return (c.ok && rc == 0) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string_view cmd = argv[1];
  if (cmd == "--help" || cmd == "-h") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (cmd == "--version") {
    std::printf("plexgate %s (libuv %s, llhttp %d.%d.%d, %s)\n", PLEXGATE_VERSION, uv_version_string(),
                LLHTTP_VERSION_MAJOR, LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH, tls::boringSslVersion());
    return 0;
  }
  if (cmd == "--check") {
    if (argc != 3) {
      return usageError("--check takes one FILE");
    }
    const auto result = config::loadFile(argv[2]);
    if (!result.ok()) {
      std::fprintf(stderr, "%s\n", result.error->toString().c_str());
      return 1;
    }
    printWarnings(*result.config, true);
    std::printf("%s: configuration is valid\n", argv[2]);
    return 0;
  }
  if (cmd == "respond") {
    QuickRespond q;
    const std::string err = parseRespond(argc, argv, q);
    if (!err.empty()) {
      return usageError(err);
    }
    std::string error;
    auto cfg = quickConfig(q, error);
    if (!cfg) {
      return usageError(error);
    }
    return runServer(cfg);
  }
  if (cmd == "proxy") {
    std::string yaml;
    const std::string err = parseProxy(argc, argv, yaml);
    if (!err.empty()) {
      return usageError(err);
    }
    const auto result = config::loadString(yaml, "plexgate proxy");
    if (!result.ok()) {
      return usageError(proxyFlagOf(result.error->key) + ": " + result.error->message);
    }
    return runServer(result.config);
  }
  if (cmd == "-c" || cmd == "--config") {
    if (argc != 3) {
      return usageError(std::string(cmd) + " takes one FILE");
    }
    const auto result = config::loadFile(argv[2]);
    if (!result.ok()) {
      std::fprintf(stderr, "%s\n", result.error->toString().c_str());
      return 1;
    }
    return runServer(result.config, argv[2]);
  }
  return usageError("unknown command " + std::string(cmd));
}
