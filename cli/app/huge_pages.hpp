// Restarting tw with glibc.malloc.hugetlb=1 for bulk work: a 4 kB page fault costs ~12 us on these machines.
#pragma once

namespace tw {

// main()'s arguments, kept for a restart (never set when tw runs in-process, in the tests).
void keep_main_arguments(char** argv);
// Whether these arguments name a report that holds a row per quarter hour (worth a restart at start-up).
bool wants_huge_pages(int argc, char** argv);
// Starts this process again (same arguments) with glibc.malloc.hugetlb=1. Returns when already set, when
// called in-process (tests), or when exec fails.
void restart_with_huge_pages();

} // namespace tw
