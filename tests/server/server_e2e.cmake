# Integration tests against real geolocd processes. The shared data (models, a synthetic world,
# bundles) is built once per build tree by the `server_fixture` CTest fixture.
set(GEOLOC_SERVER_FIXTURE_DIR "${CMAKE_BINARY_DIR}/test-data/server")

add_test(NAME server_fixture
  COMMAND "${CMAKE_CURRENT_SOURCE_DIR}/make_fixture.sh" "${CMAKE_BINARY_DIR}"
          "${GEOLOC_SERVER_FIXTURE_DIR}")
set_tests_properties(server_fixture PROPERTIES FIXTURES_SETUP server_data TIMEOUT 600
  LABELS server)

add_library(geoloc_server_test_support STATIC server_process.cc reflection_client.proto)
target_link_libraries(geoloc_server_test_support PUBLIC geoloc_client geoloc_common
  gRPC::grpc++ protobuf::libprotobuf)
target_include_directories(geoloc_server_test_support PUBLIC "${CMAKE_CURRENT_SOURCE_DIR}"
  "${CMAKE_CURRENT_BINARY_DIR}")
target_compile_definitions(geoloc_server_test_support PUBLIC
  GEOLOC_GEOLOCD_PATH="$<TARGET_FILE:geolocd>")
protobuf_generate(TARGET geoloc_server_test_support LANGUAGE cpp
  IMPORT_DIRS "${CMAKE_CURRENT_SOURCE_DIR}" PROTOC_OUT_DIR "${CMAKE_CURRENT_BINARY_DIR}")
protobuf_generate(TARGET geoloc_server_test_support LANGUAGE grpc
  GENERATE_EXTENSIONS .grpc.pb.h .grpc.pb.cc
  PLUGIN "protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>"
  IMPORT_DIRS "${CMAKE_CURRENT_SOURCE_DIR}" PROTOC_OUT_DIR "${CMAKE_CURRENT_BINARY_DIR}")
add_dependencies(geoloc_server_test_support geolocd geoloc-synth geoloc-index geoloc-cells)

function(geoloc_add_server_test name)
  geoloc_add_test(${name} SOURCES ${ARGN} LIBS geoloc_server_test_support geoloc_geo
    LABELS server TIMEOUT 600
    PROPERTIES FIXTURES_REQUIRED server_data RUN_SERIAL TRUE
               ENVIRONMENT "GEOLOC_SERVER_FIXTURE=${GEOLOC_SERVER_FIXTURE_DIR}")
endfunction()

geoloc_add_server_test(server_e2e_test server_e2e_test.cc)
geoloc_add_server_test(server_swap_test server_swap_test.cc)
