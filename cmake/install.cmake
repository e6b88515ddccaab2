# Installs the binary, the engine library, public headers, plugins and a CMake package config,
# so an out-of-tree plugin builds with find_package(pipeline) and links pipeline::pipeline.
#
# Layout under the prefix:
#   bin/pipeline                          RPATH $ORIGIN/../<libdir>
#   <libdir>/libpipeline.so*              exported as pipeline::pipeline
#   <libdir>/pipeline/plugins/lib*.so     found by `pipeline` relative to its own binary
#   <libdir>/cmake/pipeline/              pipelineConfig.cmake, version, targets
#   include/pipeline/*.h, include/pipeline/testing/*.h
include(CMakePackageConfigHelpers)

set(PIPELINE_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/pipeline)

install(TARGETS pipeline_app RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The plugin folder exists even when no plugin is installed: it is where users drop theirs.
# (The plugins themselves are installed by pipeline_add_plugin in plugins/CMakeLists.txt.)
install(DIRECTORY DESTINATION ${PIPELINE_PLUGIN_SUBDIR})

# Users write `pipeline::pipeline`, and plugin headers need C++20 in their build too.
set_target_properties(pipeline_engine PROPERTIES EXPORT_NAME pipeline)
target_compile_features(pipeline_engine INTERFACE cxx_std_20)
install(TARGETS pipeline_engine EXPORT pipelineTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT development)

# Only the public API: the engine's internals (pipeline/engine, pipeline/cli) are not part of
# what a plugin may include.
file(GLOB PIPELINE_PUBLIC_HEADERS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/pipeline/*.h)
file(GLOB PIPELINE_TESTING_HEADERS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/pipeline/testing/*.h)
install(FILES ${PIPELINE_PUBLIC_HEADERS}
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/pipeline COMPONENT development)
if(PIPELINE_TESTING_HEADERS)
  install(FILES ${PIPELINE_TESTING_HEADERS}
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/pipeline/testing COMPONENT development)
endif()

install(EXPORT pipelineTargets NAMESPACE pipeline::
  DESTINATION ${PIPELINE_CMAKE_INSTALL_DIR} COMPONENT development)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/pipelineConfig.cmake.in
  ${PROJECT_BINARY_DIR}/pipelineConfig.cmake
  INSTALL_DESTINATION ${PIPELINE_CMAKE_INSTALL_DIR}
  PATH_VARS PIPELINE_PLUGIN_SUBDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/pipelineConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/pipelineConfig.cmake
  ${PROJECT_BINARY_DIR}/pipelineConfigVersion.cmake
  DESTINATION ${PIPELINE_CMAKE_INSTALL_DIR} COMPONENT development)
