# Tests of geoloc_model (encoder, Grad-CAM, descriptor heads) and of tools/export_model.py.
#
# The archives they load are exported once at build time by make_test_models.py (about 2 min,
# ~1 GB under build/tests/model/data) and reused until the exporter or the script changes.
# Python always runs as Debian's /usr/bin/python3: it has python3-torch and python3-torchvision
# matching LibTorch 1.13; another python3 earlier on PATH may not.
set(GEOLOC_TORCH_PYTHON /usr/bin/python3)
set(GEOLOC_MODEL_TEST_DATA "${CMAKE_CURRENT_BINARY_DIR}/data")
# make_test_models.py also trains a tiny model with tools/train (trained.pt).
file(GLOB GEOLOC_TRAIN_SOURCES CONFIGURE_DEPENDS
  "${PROJECT_SOURCE_DIR}/tools/train/geoloc_train/*.py")

add_custom_command(
  OUTPUT "${GEOLOC_MODEL_TEST_DATA}/stamp"
  COMMAND ${GEOLOC_TORCH_PYTHON} "${CMAKE_CURRENT_LIST_DIR}/make_test_models.py"
          --out "${GEOLOC_MODEL_TEST_DATA}"
  DEPENDS
    "${CMAKE_CURRENT_LIST_DIR}/make_test_models.py"
    "${CMAKE_CURRENT_LIST_DIR}/model_reference.py"
    "${PROJECT_SOURCE_DIR}/tools/export_model.py"
    "${PROJECT_SOURCE_DIR}/tools/python/geoloc_models.py"
    "${PROJECT_SOURCE_DIR}/tools/python/geoloc_quantize.py"
    "${PROJECT_SOURCE_DIR}/tools/python/geoloc_checkpoints.py"
    "${PROJECT_SOURCE_DIR}/tools/train/train.py"
    "${PROJECT_SOURCE_DIR}/tests/train/tiny_world.py"
    ${GEOLOC_TRAIN_SOURCES}
  COMMENT "Exporting the model test archives (tests/model/make_test_models.py)"
  VERBATIM)
add_custom_target(geoloc_model_test_data DEPENDS "${GEOLOC_MODEL_TEST_DATA}/stamp")

function(geoloc_add_model_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  geoloc_add_test(${name} SOURCES ${ARG_SOURCES} LIBS geoloc_model ${ARG_LIBS} LABELS core)
  target_compile_definitions(${name} PRIVATE
    GEOLOC_MODEL_TEST_DATA_DIR="${GEOLOC_MODEL_TEST_DATA}")
  add_dependencies(${name} geoloc_model_test_data)
endfunction()

geoloc_add_model_test(model_encoder_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/encoder_test.cc LIBS geoloc_synth)
geoloc_add_model_test(model_export_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/export_test.cc)
geoloc_add_model_test(model_grad_cam_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/grad_cam_test.cc
  LIBS geoloc_synth opencv_imgproc opencv_imgcodecs)
geoloc_add_model_test(model_retrieval_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/retrieval_test.cc LIBS geoloc_synth)

# The exporter itself (scripted vs eager for every backbone x head, checkpoints, fingerprints,
# CLI errors), in Python.
add_test(NAME model_export_py_test
  COMMAND ${GEOLOC_TORCH_PYTHON} "${CMAKE_CURRENT_LIST_DIR}/export_test.py" ExportTest
  WORKING_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
# The checkpoint formats users bring (CosPlace EfficientNet, pytorch-NetVlad, geoloc) against
# replicas of the original networks, and the input size each format brings.
add_test(NAME model_checkpoints_py_test
  COMMAND ${GEOLOC_TORCH_PYTHON} "${CMAKE_CURRENT_LIST_DIR}/export_test.py" CheckpointFormatsTest
  WORKING_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
set_tests_properties(model_export_py_test model_checkpoints_py_test PROPERTIES
  LABELS core TIMEOUT 900 ENVIRONMENT "OMP_WAIT_POLICY=PASSIVE")
