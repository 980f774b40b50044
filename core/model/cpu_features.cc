#include "core/model/cpu_features.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "core/model/encoder.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define GEOLOC_X86 1
#endif

namespace geoloc::model {
namespace {

#ifdef GEOLOC_X86
// XCR0: which register states the OS saves on a context switch. Without the OS's consent the
// instructions fault even when cpuid lists them.
uint64_t ReadXcr0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

CpuFeatures Detect() {
  CpuFeatures f;
  unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool osxsave = (ecx >> 27) & 1;
  if (!osxsave) return f;
  const uint64_t xcr0 = ReadXcr0();
  const bool os_avx = (xcr0 & 0x6) == 0x6;                 // XMM | YMM
  const bool os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;  // opmask | ZMM_Hi256 | Hi16_ZMM
  const bool os_amx = (xcr0 & 0x60000) == 0x60000;         // XTILECFG | XTILEDATA
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  const unsigned int leaf7_ebx = ebx;
  const unsigned int leaf7_ecx = ecx;
  const unsigned int leaf7_edx = edx;
  const unsigned int max_subleaf = eax;
  f.avx2 = os_avx && ((leaf7_ebx >> 5) & 1);
  f.avx512f = os_avx512 && ((leaf7_ebx >> 16) & 1);
  f.avx512_vnni = f.avx512f && ((leaf7_ecx >> 11) & 1);
  f.amx_bf16 = os_amx && ((leaf7_edx >> 22) & 1) && ((leaf7_edx >> 24) & 1);  // AMX-BF16, AMX-TILE
  if (max_subleaf >= 1) {
    __cpuid_count(7, 1, eax, ebx, ecx, edx);
    f.avx_vnni = os_avx && ((eax >> 4) & 1);
    f.avx512_bf16 = f.avx512f && ((eax >> 5) & 1);
  }
  return f;
}
#else
CpuFeatures Detect() { return CpuFeatures(); }
#endif

}  // namespace

const CpuFeatures& GetCpuFeatures() {
  static const CpuFeatures features = Detect();
  return features;
}

std::string CpuFeaturesString(const CpuFeatures& f) {
  std::vector<const char*> names;
  if (f.avx2) names.push_back("avx2");
  if (f.avx_vnni) names.push_back("avx_vnni");
  if (f.avx512f) names.push_back("avx512f");
  if (f.avx512_vnni) names.push_back("avx512_vnni");
  if (f.avx512_bf16) names.push_back("avx512_bf16");
  if (f.amx_bf16) names.push_back("amx_bf16");
  return names.empty() ? "none" : absl::StrJoin(names, " ");
}

// Declared in encoder.h; lives here so that it needs no LibTorch.
bool CpuSupportsBf16() {
  const CpuFeatures& f = GetCpuFeatures();
  return f.avx512_bf16 || f.amx_bf16;
}

}  // namespace geoloc::model
