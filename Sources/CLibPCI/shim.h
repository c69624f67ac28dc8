#ifndef VFIOCTL_CLIBPCI_SHIM_H
#define VFIOCTL_CLIBPCI_SHIM_H

#include <pci/pci.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exit status used when libpci reports a fatal error (EX_SOFTWARE). */
#define VFIOCTL_LIBPCI_FATAL_EXIT 70

/* libpci's error hook must not return (it is declared noreturn), and unwinding across Swift
 * frames is undefined, so the only safe handler prints one line and exits. Callers check the
 * paths libpci will open before pci_init so that expected failures never get here. */
static void vfioctl_pci_fatal(char *msg, ...) {
    va_list ap;
    va_start(ap, msg);
    fputs("vfioctl: libpci: ", stderr);
    vfprintf(stderr, msg, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(VFIOCTL_LIBPCI_FATAL_EXIT);
}

/* Warnings (e.g. a malformed line in a fixture's resource file) are not worth a line of output. */
static void vfioctl_pci_quiet(char *msg, ...) { (void)msg; }

/* Allocates an access handle bound to one sysfs tree: the sys method only, the ID database
 * without udev's hwdb (so names are the same on a fixture tree and on the host), and hooks that
 * never print to stdout. Returns NULL if allocation fails. */
static inline struct pci_access *vfioctl_pci_open(const char *sysfs_bus_pci, const char *ids_file) {
    struct pci_access *a = pci_alloc();
    if (!a) return NULL;
    a->error = vfioctl_pci_fatal;
    a->warning = vfioctl_pci_quiet;
    a->debug = vfioctl_pci_quiet;
    a->method = PCI_ACCESS_SYS_BUS_PCI;
    pci_set_param(a, "sysfs.path", (char *)sysfs_bus_pci);
    pci_set_param(a, "hwdb.disable", "1");
    if (ids_file && *ids_file) pci_set_name_list_path(a, (char *)ids_file, 0);
    pci_init(a);
    return a;
}

/* An access handle that reads an `lspci -x`/`-xxxx` dump instead of the host (libpci's dump
 * method), for decoding tests on real devices' config space. Names use libpci's database. */
static inline struct pci_access *vfioctl_pci_open_dump(const char *dump_file) {
    struct pci_access *a = pci_alloc();
    if (!a) return NULL;
    a->error = vfioctl_pci_fatal;
    a->warning = vfioctl_pci_quiet;
    a->debug = vfioctl_pci_quiet;
    a->method = PCI_ACCESS_DUMP;
    pci_set_param(a, "dump.name", (char *)dump_file);
    pci_set_param(a, "hwdb.disable", "1");
    pci_init(a);
    pci_scan_bus(a);
    return a;
}

/* pci_lookup_name is variadic; these fixed-arity wrappers return NULL when the ID is unknown. */
static inline const char *vfioctl_pci_vendor_name(struct pci_access *a, char *buf, int size, unsigned vendor) {
    return pci_lookup_name(a, buf, size, PCI_LOOKUP_VENDOR | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB, vendor);
}
static inline const char *vfioctl_pci_device_name(struct pci_access *a, char *buf, int size, unsigned vendor, unsigned device) {
    return pci_lookup_name(a, buf, size, PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB, vendor, device);
}
static inline const char *vfioctl_pci_subsystem_name(struct pci_access *a, char *buf, int size, unsigned vendor,
                                                     unsigned device, unsigned subvendor, unsigned subdevice) {
    return pci_lookup_name(a, buf, size, PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB,
                           vendor, device, subvendor, subdevice);
}
static inline const char *vfioctl_pci_subsystem_vendor_name(struct pci_access *a, char *buf, int size, unsigned subvendor) {
    return pci_lookup_name(a, buf, size, PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_VENDOR | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB, subvendor);
}
static inline const char *vfioctl_pci_class_name(struct pci_access *a, char *buf, int size, unsigned class_id) {
    return pci_lookup_name(a, buf, size, PCI_LOOKUP_CLASS | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB, class_id);
}
static inline const char *vfioctl_pci_progif_name(struct pci_access *a, char *buf, int size, unsigned class_id, unsigned progif) {
    return pci_lookup_name(a, buf, size, PCI_LOOKUP_PROGIF | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB, class_id, progif);
}

#endif
