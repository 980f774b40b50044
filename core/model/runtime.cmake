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
