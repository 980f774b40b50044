# The installed CMake package `geoloc`: what another project needs to talk to geolocd from C++.
#
#   cmake --install build --component dev --prefix /opt/geoloc-sdk
#   # in the other project:
#   find_package(geoloc 0.1 CONFIG REQUIRED)            # CMAKE_PREFIX_PATH=/opt/geoloc-sdk
#   target_link_libraries(my_service PRIVATE geoloc::client)
#
# geoloc::client is the client library (client/geoloc_client.h) with the public API's generated
# messages and stubs (geoloc/v1/geoloc.pb.h, geoloc.grpc.pb.h); the static libraries it is made of
# (geoloc::proto, geoloc::common, geoloc::base) come along as its link dependencies, and the
# package finds Abseil, protobuf, gRPC and OpenSSL (gRPC's) for the consumer. The `dev` component
# is left out of a plain `cmake --install` (the server image installs binaries only); geoloc.proto
# is installed too, for clients in other languages. tests/install builds an outside project
# against it.
include(CMakePackageConfigHelpers)
include(GNUInstallDirs)

set(GEOLOC_PACKAGE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/geoloc")

install(TARGETS geoloc_client geoloc_proto geoloc_common geoloc_base
  EXPORT geolocTargets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT dev EXCLUDE_FROM_ALL
  INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(FILES "${PROJECT_SOURCE_DIR}/client/geoloc_client.h"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/client" COMPONENT dev EXCLUDE_FROM_ALL)
install(FILES "${PROJECT_BINARY_DIR}/proto/geoloc/v1/geoloc.pb.h"
              "${PROJECT_BINARY_DIR}/proto/geoloc/v1/geoloc.grpc.pb.h"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/geoloc/v1" COMPONENT dev EXCLUDE_FROM_ALL)
install(FILES "${PROJECT_SOURCE_DIR}/proto/geoloc/v1/geoloc.proto"
  DESTINATION "${CMAKE_INSTALL_DATADIR}/geoloc/proto/geoloc/v1" COMPONENT dev EXCLUDE_FROM_ALL)

install(EXPORT geolocTargets NAMESPACE geoloc:: DESTINATION "${GEOLOC_PACKAGE_DIR}"
  COMPONENT dev EXCLUDE_FROM_ALL)
configure_package_config_file("${CMAKE_CURRENT_LIST_DIR}/geolocConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/package/geolocConfig.cmake"
  INSTALL_DESTINATION "${GEOLOC_PACKAGE_DIR}")
# 0.x: a minor version may break the API.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/package/geolocConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/package/geolocConfig.cmake"
              "${PROJECT_BINARY_DIR}/package/geolocConfigVersion.cmake"
  DESTINATION "${GEOLOC_PACKAGE_DIR}" COMPONENT dev EXCLUDE_FROM_ALL)
