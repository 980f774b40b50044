#include "core/model/openmp_spin.h"

#include "absl/strings/str_cat.h"

namespace geoloc::model {
namespace {

bool IsSet(const char* value) { return value != nullptr && value[0] != '\0'; }

}  // namespace

std::string OpenMpSpinAdvice(const char* gomp_spincount, const char* omp_wait_policy) {
  if (IsSet(gomp_spincount) || IsSet(omp_wait_policy)) return "";
  return absl::StrCat(
      "neither GOMP_SPINCOUNT nor OMP_WAIT_POLICY is set: OpenMP threads busy-wait about 15 ms "
      "after each parallel region, and under CPU contention a forward pass can take 10-20x "
      "longer; start geolocd with GOMP_SPINCOUNT=",
      kRecommendedGompSpinCount, " in its environment (docs/MODEL.md \"Threads\")");
}

}  // namespace geoloc::model
