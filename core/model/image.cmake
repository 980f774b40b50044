# geoloc_image: decoding untrusted image bytes, header checks, preprocessing and the model metadata
# (geoloc.json). OpenCV + Abseil + geoloc_common only: no LibTorch, so fuzzers, sanitizer builds and
# the server's decode threads link it cheaply.
add_library(geoloc_image
  ${CMAKE_CURRENT_LIST_DIR}/image_decoder.cc
  ${CMAKE_CURRENT_LIST_DIR}/image_header.cc
  ${CMAKE_CURRENT_LIST_DIR}/model_info.cc
  ${CMAKE_CURRENT_LIST_DIR}/preprocess.cc
)
target_link_libraries(geoloc_image
  PUBLIC geoloc_common absl::status absl::statusor absl::strings opencv_core
  PRIVATE absl::str_format opencv_imgproc opencv_imgcodecs)
target_include_directories(geoloc_image SYSTEM PUBLIC ${OpenCV_INCLUDE_DIRS})
geoloc_target_warnings(geoloc_image)
