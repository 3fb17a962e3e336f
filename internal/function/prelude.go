package function

// prelude runs first in every runtime. It receives the Go-built API object
// and the length cap, defines the error classes, the registration functions
// and console, and wraps the built-ins whose single call could allocate or
// loop without bound (where the interrupt cannot reach: inside a built-in).
// It leaves nothing on the global object but basalt and console.
const prelude = `(function (api, maxLen) {
	"use strict";
	const g = globalThis;
	for (const name of ["ArrayBuffer", "SharedArrayBuffer", "DataView", "Atomics", "WebAssembly",
		"Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array",
		"Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array"]) {
		delete g[name];
	}
	const wrap = (proto, name, check) => {
		const orig = proto[name];
		if (typeof orig !== "function") return;
		Object.defineProperty(proto, name, {
			value: function (...args) { check(this, args); return orig.apply(this, args); },
			writable: true, configurable: true, enumerable: false,
		});
	};
	const tooLong = () => { throw new RangeError("The result would exceed the length limit of functions (" + maxLen + ")."); };
	wrap(String.prototype, "repeat", (s, a) => { if (String(s).length * Number(a[0]) > maxLen) tooLong(); });
	for (const name of ["padStart", "padEnd"]) {
		wrap(String.prototype, name, (s, a) => { if (Number(a[0]) > maxLen) tooLong(); });
	}
	for (const name of ["join", "toString", "toLocaleString", "fill", "map", "filter", "forEach", "reduce",
		"reduceRight", "indexOf", "lastIndexOf", "includes", "some", "every", "find", "findIndex", "findLast",
		"findLastIndex", "reverse", "sort", "slice", "splice", "copyWithin", "flat", "flatMap", "concat",
		"toReversed", "toSorted", "toSpliced", "with"]) {
		wrap(Array.prototype, name, (a) => { if (a != null && a.length > maxLen) tooLong(); });
	}

	class ApiError extends Error {
		constructor(status, message, data) {
			super(message || "");
			this.name = "ApiError";
			this.status = Number(status) || 500;
			this.data = data || {};
		}
	}
	class ValidationError extends ApiError {
		constructor(message, fields) {
			const data = {};
			for (const [k, v] of Object.entries(fields || {})) {
				data[k] = typeof v === "object" && v !== null
					? { code: String(v.code || "validation_invalid_value"), message: String(v.message || "Invalid value.") }
					: { code: "validation_invalid_value", message: String(v) };
			}
			super(400, message || "Failed to validate the record.", data);
			this.name = "ValidationError";
		}
	}
	api.ApiError = ApiError;
	api.ValidationError = ValidationError;
	api.isApiError = (e) => e instanceof ApiError;
	api.newApiError = (status, message, data) => new ApiError(status, message, data);

	const register = api.register;
	delete api.register;
	for (const phase of ["before", "after"]) {
		for (const action of ["Create", "Update", "Delete"]) {
			api[phase + action] = (collection, fn) => register("hook", phase + action, collection, fn);
		}
	}
	api.route = (method, path, fn, options) => register("route", method, path, fn, options);
	api.cron = (name, schedule, fn) => register("cron", name, schedule, fn);
	api.job = (name, fn) => register("job", name, "", fn);

	const log = api.log;
	g.console = {
		log: (...a) => log.info(a.map(String).join(" ")),
		info: (...a) => log.info(a.map(String).join(" ")),
		debug: (...a) => log.debug(a.map(String).join(" ")),
		warn: (...a) => log.warn(a.map(String).join(" ")),
		error: (...a) => log.error(a.map(String).join(" ")),
	};
	Object.freeze(api.records); Object.freeze(api.http); Object.freeze(api.mail);
	Object.freeze(api.secrets); Object.freeze(api.log); Object.freeze(api.jobs);
	Object.defineProperty(g, "basalt", { value: Object.freeze(api), writable: false, configurable: false });
})`
