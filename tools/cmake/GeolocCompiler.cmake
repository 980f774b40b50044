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

if(GEOLOC_SANITIZE)
  message(STATUS "geoloc: sanitizer build (${GEOLOC_SANITIZE})")
  add_compile_options(-fsanitize=${GEOLOC_SANITIZE} -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=${GEOLOC_SANITIZE})
  if(GEOLOC_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
endif()
