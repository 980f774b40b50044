# Finds every library geoloc uses. Each comes from one Debian bookworm package; when one is missing
# the configure step stops and names the package (tools/install_deps.sh installs them all).
# A client-only build (GEOLOC_CLIENT_ONLY) looks for Abseil, protobuf and gRPC alone (OpenSSL,
# which core/common hashes with, comes with gRPC); GoogleTest too when it builds its tests.

macro(geoloc_find_package name debian_package)
  find_package(${name} ${ARGN} QUIET)
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR
      "geoloc: ${name} not found. Install the Debian package '${debian_package}' "
      "(or run tools/install_deps.sh, which installs every dependency in tools/packages.txt).")
  endif()
endmacro()

find_package(Threads REQUIRED)
geoloc_find_package(absl libabsl-dev CONFIG)
geoloc_find_package(Protobuf "libprotobuf-dev and protobuf-compiler")
geoloc_find_package(gRPC "libgrpc++-dev and protobuf-compiler-grpc" CONFIG)
geoloc_find_package(OpenSSL libssl-dev)

if(GEOLOC_CLIENT_ONLY)
  message(STATUS "geoloc: client-only build (Protobuf ${Protobuf_VERSION}, gRPC ${gRPC_VERSION})")
else()
  # OpenMP must be found before Faiss: faiss-config.cmake refers to OpenMP::OpenMP_CXX.
  geoloc_find_package(OpenMP "libgomp1 (build-essential)")
  geoloc_find_package(faiss libfaiss-dev CONFIG)
  geoloc_find_package(Torch libtorch-dev CONFIG)
  geoloc_find_package(OpenCV libopencv-dev CONFIG COMPONENTS core imgproc imgcodecs)
  geoloc_find_package(prometheus-cpp prometheus-cpp-dev CONFIG)
  # cpp-httplib (the HTTP/JSON API, server/http_api.h): Debian builds it as a shared library whose
  # compile definitions (OpenSSL, zlib, Brotli) come from its pkg-config file.
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(CPPHTTPLIB QUIET IMPORTED_TARGET cpp-httplib)
  endif()
  if(NOT CPPHTTPLIB_FOUND)
    message(FATAL_ERROR "geoloc: cpp-httplib not found. Install the Debian packages "
                        "'libcpp-httplib-dev' and 'pkg-config' (or run tools/install_deps.sh).")
  endif()

  # S2 Geometry ships no CMake config in Debian: find it by hand.
  find_path(S2_INCLUDE_DIR s2/s2cell_id.h)
  find_library(S2_LIBRARY s2)
  if(NOT S2_INCLUDE_DIR OR NOT S2_LIBRARY)
    message(FATAL_ERROR "geoloc: S2 Geometry not found. Install the Debian package 'libs2-dev' "
                        "(or run tools/install_deps.sh).")
  endif()
  add_library(geoloc_s2 INTERFACE)
  target_include_directories(geoloc_s2 SYSTEM INTERFACE ${S2_INCLUDE_DIR})
  target_link_libraries(geoloc_s2 INTERFACE ${S2_LIBRARY} OpenSSL::Crypto)

  # LibTorch as an interface target with its headers marked SYSTEM (they warn a lot) and its flags.
  add_library(geoloc_torch INTERFACE)
  target_link_libraries(geoloc_torch INTERFACE ${TORCH_LIBRARIES})
  target_include_directories(geoloc_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})

  # CUDA is used only when the linked LibTorch was built with it (Debian's is CPU-only).
  if(TORCH_CUDA_LIBRARIES)
    set(GEOLOC_TORCH_CUDA ON)
  else()
    set(GEOLOC_TORCH_CUDA OFF)
  endif()
  # GPU Faiss is detected the same way: Debian's Faiss has no GPU headers.
  include(CheckIncludeFileCXX)
  get_target_property(_faiss_inc faiss INTERFACE_INCLUDE_DIRECTORIES)
  if(_faiss_inc AND EXISTS "${_faiss_inc}/faiss/gpu/GpuIndexFlat.h")
    set(GEOLOC_FAISS_GPU ON)
  else()
    set(GEOLOC_FAISS_GPU OFF)
  endif()
  message(STATUS "geoloc: LibTorch ${Torch_VERSION} (CUDA: ${GEOLOC_TORCH_CUDA}), "
                 "Faiss (GPU: ${GEOLOC_FAISS_GPU}), OpenCV ${OpenCV_VERSION}, "
                 "Protobuf ${Protobuf_VERSION}, gRPC ${gRPC_VERSION}")
endif()

if(GEOLOC_BUILD_TESTS)
  geoloc_find_package(GTest "libgtest-dev and libgmock-dev" CONFIG)
  include(GoogleTest)
endif()
if(GEOLOC_BUILD_BENCHMARKS)
  geoloc_find_package(benchmark libbenchmark-dev CONFIG)
endif()
