#!/usr/bin/env python3
"""Generates a realistic sysfs tree with exactly N PCI functions, for benchmarks.

    bench/gen_sysfs.py N DIR

DIR becomes a host root: DIR/sys/devices/pciDDDD:00/... holds real device directories with the
attribute files the kernel shows (vendor, device, class, config, resource, modalias, ...), and
DIR/sys/bus/pci/devices, DIR/sys/bus/pci/drivers and DIR/sys/kernel/iommu_groups hold relative
symlinks into them, as on a host. libpci reads the tree with `-O sysfs.path=DIR/sys/bus/pci`;
vfioctl with `--root DIR`.

The mix, per PCI segment (one root bus per segment, a new segment when buses or root-port
slots run out): a host bridge; a chipset multi-function device sharing one group (4-8
functions); then, behind root ports, GPUs with audio/USB functions (2-4 per group), SR-IOV
NICs (two PFs with 4-16 VFs each, every VF in its own group, some VFs on vfio-pci), PCIe
switches (2-8 downstream ports, an NVMe or NIC under each), single NVMe drives, conventional
PCI bridges with 2-6 devices sharing the bridge's group, and 8-function accelerators in one
group. Groups therefore have 1 to 8 members. The generator is deterministic for a given N.
"""
import os
import random
import sys

# Real ids (they resolve in pci.ids, so name lookups do real work).
GPU = [(0x10de, 0x2204, 0x030000, "nouveau"), (0x10de, 0x2684, 0x030000, "nvidia"), (0x1002, 0x744c, 0x030000, "amdgpu")]
GPU_AUDIO = {0x10de: (0x10de, 0x1aef, 0x040300, "snd_hda_intel"), 0x1002: (0x1002, 0xab30, 0x040300, "snd_hda_intel")}
PF = [(0x8086, 0x1572, 0x020000, "i40e", 0x154c, "iavf"), (0x15b3, 0x1017, 0x020000, "mlx5_core", 0x1018, "mlx5_core"),
      (0x8086, 0x1521, 0x020000, "igb", 0x1520, "igbvf")]
NVME = [(0x144d, 0xa808, 0x010802, "nvme"), (0x144d, 0xa80a, 0x010802, "nvme"), (0x1b36, 0x0010, 0x010802, "nvme")]
NIC = [(0x8086, 0x1533, 0x020000, "igb"), (0x14e4, 0x1657, 0x020000, "tg3"), (0x10ec, 0x8168, 0x020000, "r8169")]
LEGACY = [(0x1106, 0x3044, 0x0c0010, "firewire_ohci"), (0x10ec, 0x8169, 0x020000, "r8169"), (0x1102, 0x0002, 0x040100, "snd_emu10k1"),
          (0x9710, 0x9865, 0x070002, "parport_serial"), (0x1000, 0x0030, 0x010000, "mptspi")]
ACCEL = (0x8086, 0x0b25, 0x088000, "idxd")
ROOT_PORT = (0x8086, 0x7ab8, 0x060400)
SWITCH = (0x10b5, 0x8747, 0x060400)
PCI_BRIDGE = (0x8086, 0x244e, 0x060401)
HOST_BRIDGE = (0x8086, 0x4660, 0x060000)
CHIPSET = [(0x8086, 0x7a84, 0x060100, None), (0x8086, 0x7ad0, 0x040300, "snd_hda_intel"), (0x8086, 0x7aa3, 0x0c0500, "i801_smbus"),
           (0x8086, 0x7aa4, 0x0c8000, "intel-spi"), (0x8086, 0x7ae0, 0x0c0330, "xhci_hcd"), (0x8086, 0x7ae8, 0x0c8000, "intel-lpss"),
           (0x8086, 0x7aa7, 0x050000, None), (0x8086, 0x7af0, 0x028000, "iwlwifi")]

RESOURCE = "0x0000000000000000 0x0000000000000000 0x0000000000000000\n" * 13


class Tree:
    def __init__(self, root):
        self.root = root
        self.sys = root + "/sys"
        self.bus_devices = self.sys + "/bus/pci/devices"
        self.drivers_dir = self.sys + "/bus/pci/drivers"
        self.groups_dir = self.sys + "/kernel/iommu_groups"
        for d in (self.bus_devices, self.drivers_dir, self.groups_dir, self.sys + "/devices", self.sys + "/class/iommu",
                  root + "/proc", root + "/dev/vfio", root + "/run", root + "/etc"):
            os.makedirs(d, exist_ok=True)
        self.put(self.sys + "/bus/pci/drivers_probe", "")
        self.drivers = set()
        self.groups = {}
        self.count = 0
        self.vfio_index = 0
        self.group_id = 0
        self.vf_links = {}

    @staticmethod
    def put(path, text):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, text.encode() if isinstance(text, str) else text)
        os.close(fd)

    def new_group(self):
        g = self.group_id
        self.group_id += 1
        d = self.groups_dir + "/" + str(g)
        os.makedirs(d + "/devices")
        self.put(d + "/type", "DMA-FQ\n")
        self.put(d + "/reserved_regions", "0x00000000fee00000 0x00000000feefffff msi\n")
        return g

    def driver(self, name):
        d = self.drivers_dir + "/" + name
        if name not in self.drivers:
            self.drivers.add(name)
            os.makedirs(d, exist_ok=True)
            for f in ("bind", "unbind", "new_id", "remove_id", "uevent"):
                self.put(d + "/" + f, "")
        return d

    def add(self, parent_dir, dom, bus, dev, fn, ids, driver=None, group=None, multi=False, header=0, secondary=0,
            sriov=None, physfn=None, numa=-1, reset="flr bus", enable=None):
        vendor, device, cls = ids[0], ids[1], ids[2]
        name = "%04x:%02x:%02x.%x" % (dom, bus, dev, fn)
        d = parent_dir + "/" + name
        os.mkdir(d)
        sv, sd = (vendor, device) if header == 0 else (0, 0)
        self.put(d + "/vendor", "0x%04x\n" % vendor)
        self.put(d + "/device", "0x%04x\n" % device)
        self.put(d + "/subsystem_vendor", "0x%04x\n" % sv)
        self.put(d + "/subsystem_device", "0x%04x\n" % sd)
        self.put(d + "/class", "0x%06x\n" % cls)
        self.put(d + "/revision", "0x01\n")
        self.put(d + "/numa_node", "%d\n" % numa)
        if enable is None:
            enable = 1 if driver and driver != "vfio-pci" else 0
        self.put(d + "/enable", "%d\n" % enable)
        self.put(d + "/driver_override", ("vfio-pci" if driver == "vfio-pci" else "(null)") + "\n")
        self.put(d + "/irq", "%d\n" % (16 + self.count % 200))
        self.put(d + "/resource", RESOURCE)
        self.put(d + "/local_cpulist", "0-63\n")
        modalias = "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n" % (vendor, device, sv, sd, cls >> 16, (cls >> 8) & 0xff, cls & 0xff)
        self.put(d + "/modalias", modalias)
        # As the kernel prints it (dev_uevent, then pci_uevent).
        self.put(d + "/uevent", "%sPCI_CLASS=%X\nPCI_ID=%04X:%04X\nPCI_SUBSYS_ID=%04X:%04X\nPCI_SLOT_NAME=%s\nMODALIAS=%s" % (
            "DRIVER=%s\n" % driver if driver else "", cls, vendor, device, sv, sd, name, modalias))
        if reset:
            self.put(d + "/reset_method", reset + "\n")
        if cls >> 8 == 0x0300:
            self.put(d + "/boot_vga", "0\n")
        # 256 bytes of config space, as root reads it from a conventional-size file.
        c = bytearray(256)
        c[0:2] = vendor.to_bytes(2, "little")
        c[2:4] = device.to_bytes(2, "little")
        c[4:6] = (6 if enable else 0).to_bytes(2, "little")
        c[8] = 1
        c[9] = cls & 0xff
        c[10] = (cls >> 8) & 0xff
        c[11] = (cls >> 16) & 0xff
        c[0x0e] = header | (0x80 if multi else 0)
        if header == 0:
            c[0x2c:0x2e] = sv.to_bytes(2, "little")
            c[0x2e:0x30] = sd.to_bytes(2, "little")
        else:
            c[0x18] = bus
            c[0x19] = secondary
            c[0x1a] = secondary
        self.put(d + "/config", bytes(c))
        os.symlink(os.path.relpath(d, self.bus_devices), self.bus_devices + "/" + name)
        os.symlink("../../../bus/pci", d + "/subsystem")
        if driver:
            dd = self.driver(driver)
            os.symlink(os.path.relpath(dd, d), d + "/driver")
            os.symlink(os.path.relpath(d, dd), dd + "/" + name)
            if driver == "vfio-pci":
                v = "vfio%d" % self.vfio_index
                self.vfio_index += 1
                os.makedirs(d + "/vfio-dev/" + v)
                self.put(d + "/vfio-dev/" + v + "/dev", "511:%d\n" % (self.vfio_index - 1))
        if group is not None:
            gd = self.groups_dir + "/" + str(group)
            os.symlink(os.path.relpath(d, gd + "/devices"), gd + "/devices/" + name)
            os.symlink(os.path.relpath(gd, d), d + "/iommu_group")
        if sriov:
            total, num, vf_device = sriov
            self.put(d + "/sriov_totalvfs", "%d\n" % total)
            self.put(d + "/sriov_numvfs", "%d\n" % num)
            self.put(d + "/sriov_drivers_autoprobe", "1\n")
            self.put(d + "/sriov_vf_device", "%04x\n" % vf_device)
            self.put(d + "/sriov_offset", "2\n")
            self.put(d + "/sriov_stride", "1\n")
        if physfn:
            os.symlink(os.path.relpath(physfn, d), d + "/physfn")
            n = self.vf_links.get(physfn, 0)
            self.vf_links[physfn] = n + 1
            os.symlink(os.path.relpath(d, physfn), physfn + "/virtfn%d" % n)
        self.count += 1
        return d


def generate(n, root):
    rng = random.Random(n * 7919 + 17)
    t = Tree(root)
    left = lambda: n - t.count
    dom = -1
    while left() > 0:
        dom += 1
        top = t.sys + "/devices/pci%04x:00" % dom
        os.mkdir(top)
        numa = dom % 2
        t.add(top, dom, 0, 0, 0, HOST_BRIDGE, group=t.new_group(), reset=None, numa=numa)
        if left() > 0:
            k = min(left(), rng.randint(4, 8))
            g = t.new_group()
            for f in range(k):
                ids = CHIPSET[f]
                t.add(top, dom, 0, 0x1f, f, ids, driver=ids[3], group=g, multi=k > 1, reset=None if f == 0 else "bus", numa=numa)
        bus = 1
        slot = 0  # root-port slots on bus 0: devices 1..0x1e, functions 0..7
        while left() > 0 and bus < 240 and slot < 0x1e * 8:
            rp_dev, rp_fn = 1 + slot // 8, slot % 8
            slot += 1
            kind = rng.choices(["gpu", "sriov", "switch", "nvme", "legacy", "accel"], [4, 3, 3, 4, 2, 1])[0]
            if kind == "legacy":
                # A conventional PCI bridge on bus 0 with devices behind it: one group for all.
                if left() < 2:
                    kind = "nvme"
                else:
                    g = t.new_group()
                    bd = t.add(top, dom, 0, rp_dev, rp_fn, PCI_BRIDGE, group=g, header=1, secondary=bus, reset=None, numa=numa)
                    for i in range(min(left(), rng.randint(2, 6))):
                        ids = LEGACY[rng.randrange(len(LEGACY))]
                        drv = ids[3] if rng.random() < 0.8 else None
                        t.add(bd, dom, bus, i, 0, ids, driver=drv, group=g, reset="bus", numa=numa)
                    bus += 1
                    continue
            # Everything else sits behind a PCIe root port with ACS (its own group), except GPUs
            # behind a port without ACS, which share the port's group.
            acs = not (kind == "gpu" and rng.random() < 0.3)
            rg = t.new_group()
            rp = t.add(top, dom, 0, rp_dev, rp_fn, ROOT_PORT, driver="pcieport", group=rg, header=1, secondary=bus, reset=None, numa=numa)
            if left() == 0:
                break
            if kind == "gpu":
                g = t.new_group() if acs else rg
                vendor, device, cls, drv = GPU[rng.randrange(len(GPU))]
                vfio = rng.random() < 0.25
                k = min(left(), rng.randint(2, 4))
                for f in range(k):
                    if f == 0:
                        ids, d = (vendor, device, cls), drv
                    elif f == 1:
                        ids = GPU_AUDIO.get(vendor, GPU_AUDIO[0x10de])
                        d = ids[3]
                    else:
                        ids, d = ((vendor, 0x1ad8 + f, 0x0c0330) if f == 2 else (vendor, 0x1ad9 + f, 0x0c8000)), ("xhci_hcd" if f == 2 else None)
                    t.add(rp, dom, bus, 0, f, ids, driver="vfio-pci" if vfio else d, group=g, multi=k > 1, numa=numa)
                bus += 1
            elif kind == "sriov":
                vendor, device, cls, drv, vfdev, vfdrv = PF[rng.randrange(len(PF))]
                per = rng.choice([4, 8, 16])
                pfs = []
                for f in range(min(left(), 2)):
                    pfs.append(t.add(rp, dom, bus, 0, f, (vendor, device, cls), driver=drv, group=t.new_group(), multi=True,
                                     sriov=(64, per, vfdev), numa=numa))
                vf_slot = 2 * 8 + 0  # VFs from dev 2
                for pi, pf in enumerate(pfs):
                    for v in range(per):
                        if left() == 0:
                            break
                        dd, ff = divmod(vf_slot, 8)
                        vf_slot += 1
                        if dd > 31:
                            break
                        d = "vfio-pci" if rng.random() < 0.3 else vfdrv
                        t.add(rp, dom, bus, dd, ff, (vendor, vfdev, cls), driver=d, group=t.new_group(), physfn=pf, numa=numa, reset="flr")
                bus += 1
            elif kind == "switch":
                up_bus = bus
                up = t.add(rp, dom, up_bus, 0, 0, SWITCH, driver="pcieport", group=t.new_group(), header=1, secondary=up_bus + 1, reset=None,
                           numa=numa)
                down_bus = up_bus + 1
                bus = down_bus + 1
                for i in range(rng.randint(2, 8)):
                    if left() == 0 or bus >= 250:
                        break
                    dp = t.add(up, dom, down_bus, i, 0, SWITCH, driver="pcieport", group=t.new_group(), header=1, secondary=bus, reset=None,
                               numa=numa)
                    if left() == 0:
                        break
                    ids = NVME[rng.randrange(len(NVME))] if rng.random() < 0.6 else NIC[rng.randrange(len(NIC))]
                    t.add(dp, dom, bus, 0, 0, ids, driver=ids[3] if rng.random() < 0.9 else "vfio-pci", group=t.new_group(), numa=numa)
                    bus += 1
            elif kind == "nvme":
                ids = NVME[rng.randrange(len(NVME))]
                t.add(rp, dom, bus, 0, 0, ids, driver=ids[3] if rng.random() < 0.85 else None, group=t.new_group(), numa=numa)
                bus += 1
            elif kind == "accel":
                g = t.new_group()
                k = min(left(), 8)
                for f in range(k):
                    t.add(rp, dom, bus, 0, f, ACCEL[:3], driver=ACCEL[3] if rng.random() < 0.7 else None, group=g, multi=k > 1, numa=numa)
                bus += 1
    assert t.count == n, (t.count, n)
    return t


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    n, root = int(sys.argv[1]), sys.argv[2]
    if os.path.exists(root) and os.listdir(root):
        sys.exit("gen_sysfs: %s exists and is not empty" % root)
    os.makedirs(root, exist_ok=True)
    t = generate(n, root)
    sizes = {}
    for g in range(t.group_id):
        k = len(os.listdir(t.groups_dir + "/" + str(g) + "/devices"))
        sizes[k] = sizes.get(k, 0) + 1
    print("%d functions, %d groups (size:count %s), %d vfio-bound" % (
        t.count, t.group_id, " ".join("%d:%d" % kv for kv in sorted(sizes.items())), t.vfio_index))


if __name__ == "__main__":
    main()
