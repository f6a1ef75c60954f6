# Plan quota (issue 6), included from shared/CMakeLists.txt: the usage endpoint client (libcurl), the
# credentials and Keychain readers and the watchdog loop are built into tw_cli only, never into tw_core, so
# the hook binaries never link libcurl. The rest of the quota modules (quota, quota_json, render,
# store_quota, usage_cache, daemon_launch) stay in the core: the statusline and the hooks use them.
set(TW_QUOTA_CLI_REGEX "/(http|usage_fetch|credentials|keychain|daemon)\\.cpp$")
get_target_property(TW_CORE_QUOTA_SOURCES tw_core SOURCES)
set(TW_QUOTA_SOURCES ${TW_CORE_QUOTA_SOURCES})
list(FILTER TW_QUOTA_SOURCES INCLUDE REGEX "${TW_QUOTA_CLI_REGEX}")
list(FILTER TW_CORE_QUOTA_SOURCES EXCLUDE REGEX "${TW_QUOTA_CLI_REGEX}")
set_property(TARGET tw_core PROPERTY SOURCES ${TW_CORE_QUOTA_SOURCES})
target_sources(tw_cli PRIVATE ${TW_QUOTA_SOURCES})
# libcurl's headers only: http.cpp loads the library at the first request (dlopen), so that tw does not load
# its thirty dependencies at every start.
target_include_directories(tw_cli PRIVATE $<TARGET_PROPERTY:CURL::libcurl,INTERFACE_INCLUDE_DIRECTORIES>)
target_link_libraries(tw_cli PRIVATE ${CMAKE_DL_LIBS})
