// tests/unit/golden/golden_c.hpp - the C functions of golden.c, golden_all.c and golden_nesting.c (library targets
// vfiopp_golden_c and vfiopp_golden_c510): each fills a kernel struct from the kernel's own uapi headers into the
// buffer it is given and returns the image size. Declared once here for the golden tests and the fuzz seed
// generator (tests/fuzz/make_seeds.cpp), which both call them.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" {
// golden.c
std::size_t golden_set_irqs_eventfds(void*, std::uint32_t, std::uint32_t, const std::int32_t*, std::uint32_t);
std::size_t golden_feature_set_mig_state(void*, std::uint32_t);
std::size_t golden_pci_hot_reset(void*, const std::int32_t*, std::uint32_t);
std::size_t golden_map_dma(void*, std::uint64_t, std::uint64_t, std::uint64_t);
std::size_t golden_hwpt_alloc_data(void*, std::uint32_t, std::uint32_t, int, const void*, std::int64_t);
std::size_t golden_hwpt_alloc_ioas(void*, std::uint32_t, std::uint32_t, int, int, int, std::int64_t);
std::size_t golden_hwpt_invalidate(void*, std::uint32_t, int, const void*, std::uint32_t);
std::size_t golden_unmap_dma_dirty(void*, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t*);
std::size_t golden_dirty_pages_get(void*, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t*);
std::size_t golden_attach_pt(void*, std::uint32_t, std::int64_t);
std::size_t golden_detach_pt(void*, std::int64_t);
std::size_t golden_hwpt_get_dirty_bitmap(void*, std::uint32_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t*, int);
std::size_t golden_get_hw_info(void*, std::uint32_t, int, void*, int);
std::size_t golden_group_get_device_fd(void*, const char*);
std::size_t golden_v7_pasid_request(void*, int, std::uint32_t, std::uint32_t);
// golden_all.c
unsigned long golden_code_of(const char*, const char*, std::size_t);
unsigned long golden_arg_check_extension_type1v2();
unsigned long golden_arg_set_iommu_type1v2();
unsigned long golden_arg_none();
std::size_t golden_iommu_get_info(void*);
std::size_t golden_unmap_dma(void*, std::uint32_t, std::uint64_t, std::uint64_t);
std::size_t golden_dirty_pages(void*, std::uint32_t);
std::uint32_t golden_dirty_pages_start_flag();
std::uint32_t golden_dirty_pages_stop_flag();
std::uint32_t golden_unmap_all_flag();
std::uint32_t golden_unmap_vaddr_flag();
std::size_t golden_group_get_status(void*);
std::size_t golden_group_set_container(void*, int);
std::size_t golden_device_get_info(void*);
std::size_t golden_device_get_region_info(void*, std::uint32_t);
std::size_t golden_device_get_irq_info(void*, std::uint32_t);
std::size_t golden_set_irqs_unmask_none(void*, std::uint32_t, std::uint32_t, std::uint32_t);
std::size_t golden_set_irqs_disable(void*, std::uint32_t);
std::size_t golden_set_irqs_unmask_eventfds(void*, std::uint32_t, std::uint32_t, const std::int32_t*, std::uint32_t);
std::size_t golden_set_irqs_mask_bools(void*, std::uint32_t, std::uint32_t, const std::uint8_t*, std::uint32_t);
std::size_t golden_pci_hot_reset_info(void*, std::uint32_t);
std::size_t golden_query_gfx_plane_dmabuf(void*, std::uint32_t);
std::size_t golden_get_gfx_dmabuf(void*, std::uint32_t);
std::size_t golden_ioeventfd(void*, unsigned, std::uint64_t, std::uint64_t, std::int32_t);
std::size_t golden_feature_get(void*, int);
std::size_t golden_feature_probe_migration(void*);
std::size_t golden_feature_set_vf_token(void*, const std::uint8_t*);
std::size_t golden_feature_set_low_power_entry(void*);
std::size_t golden_feature_probe_low_power_exit(void*);
std::size_t golden_feature_set_bus_master(void*, std::uint32_t);
std::size_t golden_bind_iommufd(void*, std::int32_t, const std::uint8_t*);
std::size_t golden_mig_get_precopy_info(void*);
std::size_t golden_destroy(void*, std::uint32_t);
std::size_t golden_ioas_alloc(void*);
std::size_t golden_ioas_allow_iovas(void*, std::uint32_t, const void*, std::uint32_t);
std::size_t golden_ioas_copy(void*, std::uint32_t, std::uint32_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::size_t golden_ioas_iova_ranges(void*, std::uint32_t);
std::size_t golden_ioas_map(void*, std::uint32_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::size_t golden_ioas_map_file(void*, std::uint32_t, std::int32_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::size_t golden_ioas_unmap(void*, std::uint32_t, std::uint64_t, std::uint64_t);
std::size_t golden_option(void*, int, std::uint32_t, std::uint64_t);
std::size_t golden_vfio_ioas(void*, int, std::uint32_t);
std::size_t golden_hwpt_set_dirty_tracking(void*, std::uint32_t, int);
std::size_t golden_fault_queue_alloc(void*);
std::size_t golden_viommu_alloc_smmuv3(void*, std::uint32_t, std::uint32_t);
std::size_t golden_viommu_alloc_tegra(void*, std::uint32_t, std::uint32_t, void*);
std::size_t golden_vdevice_alloc(void*, std::uint32_t, std::uint32_t, std::uint64_t);
std::size_t golden_ioas_change_process(void*);
std::size_t golden_veventq_alloc_smmuv3(void*, std::uint32_t, std::uint32_t);
std::size_t golden_hw_queue_alloc_tegra(void*, std::uint32_t, std::uint32_t, std::uint64_t, std::uint64_t);
std::size_t golden_ioas_noiommu_get_pa(void*, std::uint32_t, std::uint64_t, std::uint64_t);
std::size_t golden_seed_pasid_alloc(void*, std::uint32_t, std::uint32_t);
std::size_t golden_seed_pasid_free(void*, std::uint32_t);
// golden_nesting.c (5.10 <linux/iommu.h>); abi 0 seed, 1 v7
std::size_t golden_nesting_bind(void*, int, int, std::uint64_t, std::uint64_t, std::uint64_t, std::uint32_t, std::uint32_t,
                                std::uint32_t);
std::size_t golden_nesting_inv_addr(void*, int, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::size_t golden_nesting_inv_pasid(void*, int, std::uint64_t);
std::size_t golden_nesting_inv_domain(void*, int);
}
