# geoloc_model: the TorchScript encoder, Grad-CAM and descriptor heads (LibTorch). LibTorch stays
# PRIVATE: the public headers use pimpl and include no LibTorch header, so dependants compile
# without it (only torch_support.h, internal, includes it).
add_library(geoloc_model
  ${CMAKE_CURRENT_LIST_DIR}/cpu_features.cc
  ${CMAKE_CURRENT_LIST_DIR}/descriptor_head.cc
  ${CMAKE_CURRENT_LIST_DIR}/encoder.cc
  ${CMAKE_CURRENT_LIST_DIR}/grad_cam.cc
  ${CMAKE_CURRENT_LIST_DIR}/torch_support.cc
)
target_link_libraries(geoloc_model
  PUBLIC geoloc_image geoloc_base absl::status absl::statusor absl::strings absl::span opencv_core
  PRIVATE geoloc_torch absl::str_format opencv_imgproc opencv_imgcodecs)
geoloc_target_warnings(geoloc_model)

# geoloc_cell_classifier: the hierarchical S2 cell classifier head (seed 001, Algorithm 2; built,
# trained and saved with LibTorch; docs/CLASSIFIER.md) and its geoloc_head.json metadata
# (cell_head_info.h, which a server uses without LibTorch headers). Separate from geoloc_model so
# that the encoder does not depend on core/cells.
add_library(geoloc_cell_classifier
  ${CMAKE_CURRENT_LIST_DIR}/cell_classifier.cc
  ${CMAKE_CURRENT_LIST_DIR}/cell_head_info.cc
  ${CMAKE_CURRENT_LIST_DIR}/cell_head_info.proto
)
# As for core/cells: protoc names the file "cell_head_info.proto", so generating into
# <build>/core/model makes "core/model/cell_head_info.pb.h" resolve from PROJECT_BINARY_DIR.
protobuf_generate(TARGET geoloc_cell_classifier LANGUAGE cpp
  IMPORT_DIRS ${PROJECT_SOURCE_DIR}
  PROTOC_OUT_DIR ${PROJECT_BINARY_DIR}/core/model)
target_include_directories(geoloc_cell_classifier PRIVATE ${PROJECT_BINARY_DIR})
target_link_libraries(geoloc_cell_classifier
  PUBLIC geoloc_cells geoloc_base absl::status absl::statusor absl::strings absl::span
  PRIVATE geoloc_model geoloc_torch geoloc_geo geoloc_common protobuf::libprotobuf absl::time)
geoloc_target_warnings(geoloc_cell_classifier)
