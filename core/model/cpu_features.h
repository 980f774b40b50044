// What this CPU can do for inference, read once from cpuid (and XGETBV for the OS's consent).
//
//   const CpuFeatures& cpu = GetCpuFeatures();
//   if (cpu.avx512_bf16 || cpu.amx_bf16) ... run the encoder in bf16 ...
//   if (cpu.avx512_vnni || cpu.avx_vnni) ... int8 convolutions run at full speed ...
//
// A plain value computed on first use; GetCpuFeatures() is safe from any thread.
#ifndef GEOLOC_CORE_MODEL_CPU_FEATURES_H_
#define GEOLOC_CORE_MODEL_CPU_FEATURES_H_

#include <string>

namespace geoloc::model {

struct CpuFeatures {
  bool avx2 = false;
  bool avx_vnni = false;     // AVX-VNNI: 256-bit int8 dot products (Alder Lake, Sapphire Rapids)
  bool avx512f = false;      // and the OS saves ZMM state
  bool avx512_vnni = false;  // AVX512_VNNI: int8 dot products (Cascade Lake and later, Zen 4)
  bool avx512_bf16 = false;  // AVX512_BF16 (Cooper Lake, Sapphire Rapids, Zen 4)
  bool amx_bf16 = false;     // AMX-BF16 tiles (Sapphire Rapids) and the OS saves tile state
};

// Detected once; every flag is false on non-x86 builds.
const CpuFeatures& GetCpuFeatures();
// e.g. "avx2 avx_vnni avx512f avx512_vnni avx512_bf16" (the flags that are set, space-separated;
// "none" if none).
std::string CpuFeaturesString(const CpuFeatures& features);

}  // namespace geoloc::model

#endif  // GEOLOC_CORE_MODEL_CPU_FEATURES_H_
