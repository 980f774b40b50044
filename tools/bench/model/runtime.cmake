# encoder_bench: Encoder images/s by precision (fp32, bf16) and batch (1, 8, 16); the model comes
# from --model= or GEOLOC_BENCH_MODEL (docs/BENCHMARKS.md, docs/MODEL.md).
geoloc_add_benchmark(encoder_bench
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/encoder_bench.cc
  LIBS geoloc_model absl::strings)
