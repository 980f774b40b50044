# Tests of geoloc_image: decoding (formats, conversions, EXIF, limits, hostile input),
# preprocessing and geoloc.json. libjpeg is used directly only to write a CMYK JPEG, which OpenCV
# cannot; it is the library OpenCV itself decodes with (libjpeg62-turbo-dev).
find_package(JPEG REQUIRED)
geoloc_add_test(image_test
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/image_decoder_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/model_info_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/preprocess_test.cc
  LIBS geoloc_image opencv_imgcodecs opencv_imgproc JPEG::JPEG
  LABELS core)
