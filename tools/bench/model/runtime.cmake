# encoder_bench: Encoder images/s for fp32 (frozen, and optimize_for_inference'd), bf16 and int8 at
# batch 1, 8 and 16; the models come from --model= / --int8-model= or GEOLOC_BENCH_MODEL /
# GEOLOC_BENCH_INT8_MODEL (docs/BENCHMARKS.md, docs/MODEL.md).
geoloc_add_benchmark(encoder_bench
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/encoder_bench.cc
  LIBS geoloc_model absl::strings)
