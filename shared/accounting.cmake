# Token accounting (issue 5), included from shared/CMakeLists.txt.
# - The price table (shared/data/prices.json) is embedded into a generated header at configure time.
# - Transcript parsing, ingest and reports use simdjson (a shared library): they are built into tw_cli only,
#   never into tw_core, so the hook binaries never link simdjson.
find_package(simdjson REQUIRED)

file(READ ${CMAKE_CURRENT_SOURCE_DIR}/data/prices.json TW_PRICES_JSON)
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/data/price_table_data.hpp.in
  ${CMAKE_CURRENT_BINARY_DIR}/generated/price_table_data.hpp @ONLY)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  ${CMAKE_CURRENT_SOURCE_DIR}/data/prices.json ${CMAKE_CURRENT_SOURCE_DIR}/data/price_table_data.hpp.in)
target_include_directories(tw_core PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/generated)

# Move the simdjson users from the core to tw_cli.
set(TW_ACCOUNTING_CLI_REGEX "/(transcript|ingest|report)[^/]*\\.cpp$")
get_target_property(TW_CORE_ALL_SOURCES tw_core SOURCES)
set(TW_ACCOUNTING_SOURCES ${TW_CORE_ALL_SOURCES})
list(FILTER TW_ACCOUNTING_SOURCES INCLUDE REGEX "${TW_ACCOUNTING_CLI_REGEX}")
list(FILTER TW_CORE_ALL_SOURCES EXCLUDE REGEX "${TW_ACCOUNTING_CLI_REGEX}")
set_property(TARGET tw_core PROPERTY SOURCES ${TW_CORE_ALL_SOURCES})
target_sources(tw_cli PRIVATE ${TW_ACCOUNTING_SOURCES})
target_link_libraries(tw_cli PRIVATE simdjson::simdjson)
