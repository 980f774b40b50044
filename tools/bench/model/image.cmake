# decode_bench: decode + preprocess per image, full vs reduced JPEG decoding (docs/BENCHMARKS.md).
geoloc_add_benchmark(decode_bench
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/decode_bench.cc
  LIBS geoloc_image opencv_imgcodecs opencv_imgproc)
