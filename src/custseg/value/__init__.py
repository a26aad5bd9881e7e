"""Value ahead: probability alive, expected purchases and customer lifetime value (BG/NBD and
Gamma-Gamma): the fits (btyd), the settings (config), the registry and its refit rule
(registry), and the per-customer scoring (score). docs/value.md."""
