// The program's live heap, counted by the global operator new / delete replacement that objects_injection_test.cpp
// defines (once for the whole vfiopp_vm_objects program): every form (plain, array, nothrow, aligned, sized) counts
// the blocks it hands out and their usable bytes (malloc_usable_size, the same on both sides), with atomics.
//
//   auto before = vmtest::heap_live();
//   { auto r = sequence(hook); ok = r.has_value(); }   // the object graph and the result gone
//   CHECK(vmtest::heap_live() == before);              // nothing of the run is left on the heap
//
// Measure around the code under test only: Catch2's macros (INFO, CHECK with strings) and fmt allocate, and a
// first run may allocate what stays (locale, iostream buffers): take `before` after one warm-up run.
#pragma once

#include <cstdint>
#include <ostream>

namespace vmtest {

/// Blocks handed out by operator new and not yet given back, and their usable bytes.
struct heap_count {
    std::int64_t blocks = 0;
    std::int64_t bytes = 0;
    friend bool operator==(const heap_count&, const heap_count&) = default;
};
inline std::ostream& operator<<(std::ostream& os, const heap_count& h) {
    return os << "{heap " << h.blocks << " blocks, " << h.bytes << " bytes}";
}

/// The live heap now (objects_injection_test.cpp). Allocation-free.
heap_count heap_live() noexcept;
/// Every operator new since the program started (a run that allocates nothing shows no change).
std::int64_t heap_allocations_total() noexcept;

}  // namespace vmtest
