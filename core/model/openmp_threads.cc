#include "core/model/openmp_threads.h"

#include <omp.h>

#include <algorithm>

namespace geoloc::model {
namespace {

thread_local int cap = 0;

}  // namespace

OpenMpThreadCap::OpenMpThreadCap(int threads)
    : saved_cap_(cap), saved_threads_(omp_get_max_threads()) {
  const int limit = std::max(1, threads);
  cap = saved_cap_ > 0 ? std::min(saved_cap_, limit) : limit;
  omp_set_num_threads(std::min(saved_threads_, cap));
}

OpenMpThreadCap::~OpenMpThreadCap() {
  cap = saved_cap_;
  omp_set_num_threads(saved_threads_);
}

int CurrentOpenMpThreadCap() { return cap; }

int CappedThreads(int threads) { return cap > 0 ? std::min(threads, cap) : threads; }

}  // namespace geoloc::model
