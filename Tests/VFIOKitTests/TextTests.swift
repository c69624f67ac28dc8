import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOWriters

@Suite("Durations")
struct DurationTextTests {
    @Test(
        "accepted forms",
        arguments: [
            ("30", Duration.seconds(30)), ("30s", .seconds(30)), ("500ms", .milliseconds(500)), ("2m", .seconds(120)),
            ("1h", .seconds(3600)), ("1.5s", .milliseconds(1500)), ("0.25", .milliseconds(250)), ("0", .zero), ("0s", .zero),
            ("168h", .seconds(7 * 86400)), ("1.000001", .seconds(1)), ("10080m", .seconds(7 * 86400)),
        ])
    func accepted(_ text: String, _ expected: Duration) throws {
        #expect(try DurationText.parse(text, name: "--timeout") == expected)
    }

    @Test(
        "rejected forms are usage errors naming the option and the text",
        arguments: [
            "", "s", "ms", "-1", "-1s", "+1s", "1x", "10x", "1.", ".5", "abc", "1e3", "1 s", " 1s", "1s ", "30S", "2M", "1H", "500MS",
            "9999999999", "169h", "1.1234567", "1,5s", "١s", "1\n", "nan", "inf",
        ])
    func rejected(_ text: String) {
        #expect {
            try DurationText.parse(text, name: "--timeout")
        } throws: { error in
            guard let error = error as? VFIOError else { return false }
            return error.exitCode == 64 && error.message.hasPrefix("invalid --timeout '") && !error.message.contains("\n")
        }
    }
}

@Suite("Driver names")
struct DriverNameValidationTests {
    @Test(
        "one check and one message for every source",
        arguments: [
            ("vfio-pci", true), ("mlx5_vfio_pci", true), ("e1000e", true), ("snd_hda_intel", true), ("a.b", true),
            ("", false), ("../x", false), ("a/b", false), ("-rf", false), (".hidden", false), ("vfio pci", false), ("vfio\npci", false),
            (String(repeating: "a", count: 64), true), (String(repeating: "a", count: 65), false),
        ])
    func validate(_ name: String, _ valid: Bool) {
        #expect(DriverName.isSafe(name) == valid)
        do {
            try DriverName.validate(name, from: "--to")
            #expect(valid)
        } catch {
            #expect(!valid)
            #expect(error.exitCode == 64)
            #expect(error.message.hasPrefix("invalid driver name '" + UntrustedText.printable(name) + "' for --to: expected "))
            #expect(!error.message.contains("\n"))
        }
    }

    @Test("a driver read from sysfs with an unsafe name makes the device unavailable")
    func current() throws {
        let address = try #require(PCIAddress("01:00.0"))
        #expect(throws: Never.self) { try DriverName.validateCurrent(nil, of: address) }
        #expect(throws: Never.self) { try DriverName.validateCurrent("nouveau", of: address) }
        #expect(throws: VFIOError.unavailable("0000:01:00.0 is bound to a driver with an unexpected name '..\\x1b'; nothing was changed")) {
            try DriverName.validateCurrent("..\u{1B}", of: address)
        }
    }
}

@Suite("Printing untrusted text")
struct UntrustedTextTests {
    @Test(
        "control characters are escaped, the length bounded",
        arguments: [
            ("plain", 64, "plain"), ("evil\u{1B}]0;pwned\u{07}", 64, "evil\\x1b]0;pwned\\x07"), ("a\nb\r", 64, "a\\x0ab\\x0d"),
            ("del\u{7F}", 64, "del\\x7f"), ("csi\u{9B}", 64, "csi\\x9b"), ("nbsp\u{A0}é", 64, "nbsp\u{A0}é"), ("abcdef", 3, "abc…"),
            ("abc", 3, "abc"), ("", 64, ""),
        ])
    func printable(_ text: String, _ limit: Int, _ expected: String) {
        #expect(UntrustedText.printable(text, limit: limit) == expected)
    }
}
