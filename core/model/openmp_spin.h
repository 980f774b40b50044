// How long OpenMP's worker threads busy-wait after a parallel region, which LibTorch's forward
// pass (and Faiss, and the flat search kernel) run in. GNU OpenMP (Debian's LibTorch links libgomp)
// spins GOMP_SPINCOUNT iterations before sleeping: 300,000 by default, about 15 ms on the Xeons we
// run on (`pause` takes about 50 ns). While a thread spins it holds its core; when another thread
// wants that core (a decode thread, another process, a container's CPU limit), every barrier of a
// forward pass waits for a descheduled team member for up to a scheduler slice. Measured on the
// 2-core VM with a compiler on the other core: a ResNet-18 batch-1 forward with 2 threads took a
// median 366 ms with the default spin and 41 ms with GOMP_SPINCOUNT=10000 (15 ms alone; docs/MODEL.md
// "Threads"). libgomp reads the variable once, when it loads, so it must be in the environment the
// process starts with: the container images set it (docker/Dockerfile), and geolocd warns at start
// when neither it nor OMP_WAIT_POLICY is set.
//
//   if (std::string advice = OpenMpSpinAdvice(std::getenv("GOMP_SPINCOUNT"),
//                                             std::getenv("OMP_WAIT_POLICY")); !advice.empty())
//     GEOLOC_LOG(WARNING) << advice;
//
// Pure function: thread-safe.
#ifndef GEOLOC_CORE_MODEL_OPENMP_SPIN_H_
#define GEOLOC_CORE_MODEL_OPENMP_SPIN_H_

#include <string>

namespace geoloc::model {

// The spin the images set: about 0.5 ms, far longer than the gaps between a forward pass's
// parallel regions (microseconds), far shorter than a scheduler slice.
inline constexpr int kRecommendedGompSpinCount = 10000;

// Empty when the environment bounds the busy-wait (either variable set and non-empty); otherwise a
// one-line warning naming the setting. Arguments are the variables' values, nullptr when unset.
std::string OpenMpSpinAdvice(const char* gomp_spincount, const char* omp_wait_policy);

}  // namespace geoloc::model

#endif  // GEOLOC_CORE_MODEL_OPENMP_SPIN_H_
