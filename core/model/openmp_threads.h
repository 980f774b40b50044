// A cap on the OpenMP threads of the calling thread's parallel regions, for a scope.
//
//   {
//     model::OpenMpThreadCap one(1);  // this thread's forward passes and searches: one thread
//     locator.EncodeBatch(...);        // Encoder honours the cap (ApplyIntraOpThreads)
//     locator.SearchBatch(...);        // the flat search and Faiss read the same OpenMP setting
//   }                                  // the thread's earlier setting is back
//
// Why: under load geolocd runs a second forward pass beside the first, each on one thread, and
// gives a lone call every forward thread (server/locate_pipeline.h). On two cores, one two-thread
// pass beside the decoding threads waits at its barriers for a descheduled team member; two
// one-thread passes do not wait for anyone (docs/MODEL.md "Threads"). A capped thread runs its
// parallel regions without a team, so it adds no thread to the count libgomp compares with the
// CPUs (above it, every wait stops spinning).
//
// OpenMP's thread count (nthreads-var) belongs to the calling thread: the cap sets it with
// omp_set_num_threads and remembers the cap in a thread-local, so that LibTorch's intra-op setting,
// which the encoder re-applies before each forward pass, does not undo it. Caps nest (an inner
// cap may only lower the count). Not copyable; lives on the stack of the thread it caps.
#ifndef GEOLOC_CORE_MODEL_OPENMP_THREADS_H_
#define GEOLOC_CORE_MODEL_OPENMP_THREADS_H_

namespace geoloc::model {

class OpenMpThreadCap {
 public:
  explicit OpenMpThreadCap(int threads);  // at least 1 (smaller values count as 1)
  ~OpenMpThreadCap();
  OpenMpThreadCap(const OpenMpThreadCap&) = delete;
  OpenMpThreadCap& operator=(const OpenMpThreadCap&) = delete;

 private:
  const int saved_cap_;
  const int saved_threads_;
};

// The calling thread's cap: 0 when none is in force.
int CurrentOpenMpThreadCap();

// `threads` limited by the calling thread's cap (`threads` itself when there is none).
int CappedThreads(int threads);

}  // namespace geoloc::model

#endif  // GEOLOC_CORE_MODEL_OPENMP_THREADS_H_
