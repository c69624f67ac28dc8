// Test support: fixture trees and the simulated kernel.
