// The synthetic world's only source of randomness: SplitMix64 streams keyed by (seed, purpose,
// ids).
//
//   Rng rng(StreamSeed(options.seed, Stream::kPlaceScene, place_id));
//   double h = rng.Uniform(0.45, 0.62);
//
// Every random choice in the generator comes from a stream derived from the options' seed and the
// identity of the thing being drawn (region, city, place, view), never from a shared generator, so
// results do not depend on the order in which threads happen to run. Arithmetic is fixed here
// (no std::*_distribution, whose output differs between standard libraries).
//
// An Rng is a value type; it is not thread-safe, and each stream is owned by one thread.
#ifndef GEOLOC_TOOLS_SYNTH_RANDOM_H_
#define GEOLOC_TOOLS_SYNTH_RANDOM_H_

#include <cmath>
#include <cstdint>

namespace geoloc::synth {

// Independent purposes get independent streams even for equal ids.
enum class Stream : uint64_t {
  kRegionStyle = 1,
  kExtraCity = 2,
  kPlaceLayout = 3,
  kPlaceScene = 4,
  kView = 5,
  kViewNoise = 6,
  // Planet worlds.
  kPlanetCities = 7,   // which city clusters a world uses
  kPlaceSites = 8,     // (city): where its places lie
  kPlaceRole = 9,      // (place): split role and photo counts
  kCapture = 10,       // (place, photo): camera position, conditions, camera
  kGeotag = 11,        // (place, photo): the collection photo's geotag error
  kFileName = 12,      // (image index, attempt): opaque file names
  kCityStyle = 13,     // (city)
  kNeighbourhoodStyle = 14,  // (neighbourhood)
  kPanorama = 15,      // (place): the place's 360-degree scene
  kPhoto = 16,         // (image index): view-time effects (occluders, noise)
  kDistractor = 17,    // (image index): the distractor's own picture
};

// One SplitMix64 step (Steele, Lea, Flood 2014): advances `state` and returns a well-mixed value.
inline uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Hashes (seed, stream, a, b) into a stream seed; distinct inputs give unrelated streams.
inline uint64_t StreamSeed(uint64_t seed, Stream stream, uint64_t a = 0, uint64_t b = 0) {
  uint64_t state = seed;
  uint64_t h = SplitMix64(state);
  for (uint64_t word : {static_cast<uint64_t>(stream), a, b}) {
    state = h ^ (word * 0xd1b54a32d192ed03ULL);
    h = SplitMix64(state);
  }
  return h;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t Next() { return SplitMix64(state_); }
  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Uniform integer in [lo, hi] (inclusive); the multiply-shift bias is below 2^-32 here.
  int UniformInt(int lo, int hi) {
    const uint64_t span = static_cast<uint64_t>(static_cast<int64_t>(hi) - lo + 1);
    return lo + static_cast<int>(((Next() >> 32) * span) >> 32);
  }
  bool Bernoulli(double p) { return Uniform() < p; }
  // Standard normal by Box-Muller (one value per call; simplicity over speed).
  double Normal() {
    const double u1 = 1.0 - Uniform();  // (0, 1]: log stays finite
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t state_;
};

}  // namespace geoloc::synth

#endif  // GEOLOC_TOOLS_SYNTH_RANDOM_H_
