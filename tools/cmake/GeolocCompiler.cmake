# Compiler settings for geoloc's own targets: warnings on, ccache when present, sanitizers by option.
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_C_COMPILER_LAUNCHER "${CCACHE_PROGRAM}")
  set(CMAKE_CXX_COMPILER_LAUNCHER "${CCACHE_PROGRAM}")
endif()

# Applied per target (geoloc_target_warnings) so third-party headers are not affected.
set(GEOLOC_WARNING_FLAGS -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)

function(geoloc_target_warnings target)
  target_compile_options(${target} PRIVATE ${GEOLOC_WARNING_FLAGS})
endfunction()

# libFuzzer targets (tests/fuzz, docs/TESTING.md): clang only. Every geoloc target in such a build
# is compiled with coverage instrumentation (-fsanitize=fuzzer-no-link) and, unless GEOLOC_SANITIZE
# says otherwise, with ASan + UBSan; the fuzz binaries add libFuzzer's main (-fsanitize=fuzzer).
# The Debian libraries (OpenCV, libjpeg, protobuf, Abseil, S2) stay uninstrumented: libFuzzer then
# gets no coverage from inside them and ASan cannot see their bad reads, but their crashes and
# every error in our code (the parsers, the checks around the decoders) are found. Build only the
# fuzz targets in such a directory: cmake --build <dir> --target fuzz_decode_image ...
option(GEOLOC_BUILD_FUZZERS "Build the libFuzzer targets in tests/fuzz (needs clang)" OFF)
if(GEOLOC_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "geoloc: GEOLOC_BUILD_FUZZERS needs clang (libFuzzer), e.g. "
      "-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ (Debian: clang, libclang-rt-14-dev); "
      "this build uses ${CMAKE_CXX_COMPILER_ID}.")
  endif()
  if(NOT GEOLOC_SANITIZE)
    set(GEOLOC_SANITIZE "address,undefined")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(GEOLOC_SANITIZE)
  message(STATUS "geoloc: sanitizer build (${GEOLOC_SANITIZE})")
  add_compile_options(-fsanitize=${GEOLOC_SANITIZE} -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=${GEOLOC_SANITIZE})
  if(GEOLOC_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
endif()
