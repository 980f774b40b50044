// geolocd: the geolocation server. See README.md and docs/SERVER.md; `geolocd --help` lists flags.
//
// Signals: SIGHUP reloads the tokens and the --bundle path; SIGTERM/SIGINT drain (Health goes
// NOT_SERVING, in-flight calls finish within --drain_grace_seconds) and exit 0; a second
// SIGTERM/SIGINT during the drain, or the end of the grace period, forces exit with status 1.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "core/common/command_line.h"
#include "core/common/logging.h"
#include "core/model/openmp_spin.h"
#include "server/geolocd.h"
#include "server/server_flags.h"

ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");

namespace {

sigset_t HandledSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

// The signal loops below take SIGTERM/SIGINT/SIGHUP synchronously, and every thread main starts
// inherits a mask that blocks them. Threads that shared libraries start before main never got
// that mask (OpenBLAS starts its worker pool, one thread per core, in a library constructor).
// When the loop is busy (a SIGHUP reload, the drain), the kernel hands a new signal to such a
// thread, where its default action would kill the process: a second SIGHUP during a reload, or
// the forcing second SIGTERM, would end geolocd with "terminated by signal" instead of a drain
// or exit 1. So a handler is installed too: it only counts the signal, and the loops take counted
// signals at their next tick.
static_assert(std::atomic<int>::is_always_lock_free, "the handler needs lock-free atomics");
std::atomic<int> g_caught_term{0};
std::atomic<int> g_caught_int{0};
std::atomic<int> g_caught_hup{0};

void CountSignal(int sig) {  // async-signal-safe: lock-free atomics only
  (sig == SIGHUP ? g_caught_hup : sig == SIGINT ? g_caught_int : g_caught_term).fetch_add(1);
}

void InstallCountingHandlers() {
  struct sigaction action {};
  action.sa_handler = CountSignal;
  action.sa_mask = HandledSignals();
  action.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &action, nullptr);
}

bool TakeOne(std::atomic<int>& count) {
  int n = count.load();
  while (n > 0) {
    if (count.compare_exchange_weak(n, n - 1)) return true;
  }
  return false;
}

// A signal a stray thread counted, else 0.
int TakeCountedSignal() {
  if (TakeOne(g_caught_term)) return SIGTERM;
  if (TakeOne(g_caught_int)) return SIGINT;
  if (TakeOne(g_caught_hup)) return SIGHUP;
  return 0;
}

// The next signal (taken from the blocked set, or counted by the handler), or -1 after `wait`.
int NextSignal(const sigset_t& signals, long wait_ns) {
  if (const int sig = TakeCountedSignal(); sig != 0) return sig;
  timespec tick{0, wait_ns};
  if (const int sig = sigtimedwait(&signals, nullptr, &tick); sig > 0) return sig;
  const int sig = TakeCountedSignal();
  return sig != 0 ? sig : -1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<char*> args = geoloc::ParseCommandLineOrExit(
      argc, argv, "geolocd",
      "serves geoloc.v1.Geolocator and geoloc.v1.IndexAdmin over gRPC.\n"
      "  geolocd --model=MODEL.pt --bundle=BUNDLE_DIR [--listen=0.0.0.0:50051] [flags]");
  if (args.size() > 1) {
    std::fprintf(stderr, "geolocd: error: unexpected argument '%s' (all options are --flags)\n",
                 args[1]);
    return geoloc::kExitUsageError;
  }
  auto level = geoloc::ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) {
    std::fprintf(stderr, "geolocd: --log_level: %s\n", std::string(level.status().message()).c_str());
    return 2;
  }
  geoloc::SetMinLogLevel(*level);
  auto config = geoloc::server::ConfigFromFlags();
  if (!config.ok()) {
    std::fprintf(stderr, "geolocd: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  if (const std::string advice = geoloc::model::OpenMpSpinAdvice(std::getenv("GOMP_SPINCOUNT"),
                                                                 std::getenv("OMP_WAIT_POLICY"));
      !advice.empty()) {
    GEOLOC_LOG(WARNING) << advice;
  }

  // Signals are taken synchronously by this thread (sigtimedwait); every thread started from here
  // on inherits the mask. Threads libraries started earlier only count them (CountSignal).
  const sigset_t signals = HandledSignals();
  InstallCountingHandlers();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  geoloc::server::Geolocd server(*config);
  if (absl::Status st = server.Start(); !st.ok()) {
    GEOLOC_LOG(ERROR) << "cannot start: " << st;
    return 1;
  }
  // Loading runs beside the signal loop, so SIGTERM during a long load still drains promptly.
  std::atomic<int> load_state{0};  // 0 loading, 1 serving, -1 failed
  std::thread loader([&] {
    absl::Status st = server.Load();
    if (!st.ok()) GEOLOC_LOG(ERROR) << "cannot load the model and bundle: " << st;
    load_state.store(st.ok() ? 1 : -1);
  });

  int exit_code = 0;
  for (;;) {
    const int sig = NextSignal(signals, 200'000'000);
    if (load_state.load() == -1) {
      exit_code = 1;
      break;
    }
    if (sig == SIGHUP) {
      if (load_state.load() != 1) {
        GEOLOC_LOG(WARNING) << "SIGHUP ignored: still loading";
        continue;
      }
      GEOLOC_LOG(INFO) << "SIGHUP: reloading tokens and " << config->bundle_path;
      if (absl::Status st = server.Reload("sighup"); !st.ok()) {
        GEOLOC_LOG(ERROR) << "reload failed (the previous bundle keeps serving): " << st;
      }
    } else if (sig == SIGTERM || sig == SIGINT) {
      GEOLOC_LOG(INFO) << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << ": draining";
      break;
    }
  }

  // A second SIGTERM/SIGINT during the drain forces exit.
  std::atomic<bool> drained{false};
  std::thread forcer([&] {
    while (!drained.load()) {
      const int sig = NextSignal(signals, 100'000'000);
      if (sig == SIGTERM || sig == SIGINT) {
        GEOLOC_LOG(WARNING) << "second signal during drain: exiting now";
        std::_Exit(1);
      }
    }
  });
  const bool clean = server.Drain(absl::Seconds(config->drain_grace_seconds));
  drained.store(true);
  forcer.join();
  if (loader.joinable()) {
    if (load_state.load() == 0) {
      // Still loading the model: nothing to serve, nothing to wait for.
      GEOLOC_LOG(INFO) << "exiting during load";
      std::_Exit(exit_code == 0 ? 0 : exit_code);
    }
    loader.join();
  }
  if (!clean && exit_code == 0) exit_code = 1;
  GEOLOC_LOG(INFO) << "geolocd exits with status " << exit_code;
  return exit_code;
}
