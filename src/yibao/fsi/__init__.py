"""The national interface adapter: hospital systems (HIS) settle with yibao in the JSON
message format they already speak (`POST /fsi/api/callService`), a thin translation over
the settlement service. See docs/national-interface.md."""
