-- wrk script: every request POSTs the JPEG named by $F8_BENCH_JPEG (TorchServe style).
local f = assert(io.open(os.getenv("F8_BENCH_JPEG"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "image/jpeg"
