#!/usr/bin/python3
"""Independent check of a server's gRPC reflection, with Python's grpcio and protobuf (no grpc-js code shared).

Usage:
  /usr/bin/python3 test/reflection_check.py ADDRESS [--token TOKEN] [--protocol v1|v1alpha]
      [--call orderly.user.v1.UserService/GetUser --request-json '{"id":"usr_x"}']

Lists the services; for every one, fetches its file (file_containing_symbol) and any dependency not yet seen
(file_by_filename), loads them dependencies-first into a fresh DescriptorPool (the C++ pool validates each file:
missing imports, bad map entries and unresolved types fail here, as they do in strict clients) and finds the
service. With --call it builds the request from JSON and calls the method by name using only those descriptors.
Prints one line per service checked; exits 1 with a message on any failure.

Needs Debian's python3-grpcio and python3-protobuf (apt-get install -y python3-grpcio python3-protobuf). Debian
ships no grpc_reflection module, so the reflection messages are declared below by hand, from the public
grpc/reflection/v1/reflection.proto (v1alpha is the same wire format under another package).
"""
import argparse
import queue
import sys

try:
    import grpc
    from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
    from google.protobuf.internal import api_implementation
except ImportError as err:
    sys.exit(
        f"reflection_check: {err}. Install Debian's packages: apt-get install -y python3-grpcio python3-protobuf "
        "(and run this with /usr/bin/python3)"
    )

F = descriptor_pb2.FieldDescriptorProto


class Failure(Exception):
    """A check failed; the message says what and where."""


def message_class(pool, full_name):
    """The generated class for a message of `pool` (GetMessageClass is protobuf >= 4.24; GetPrototype before)."""
    descriptor = pool.FindMessageTypeByName(full_name)
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(pool).GetPrototype(descriptor)


def reflection_messages(package):
    """(request class, response class) of grpc.reflection.<package>, declared by hand in a pool of their own."""
    fd = descriptor_pb2.FileDescriptorProto(name=f"reflection_check/{package}.proto", package=package, syntax="proto3")

    def message(name, fields, oneof=None):
        m = fd.message_type.add(name=name)
        if oneof:
            m.oneof_decl.add(name=oneof[0])
        for field_name, number, kind, *rest in fields:  # rest: an optional message type name, "repeated"
            f = m.field.add(name=field_name, number=number, type=kind, label=F.LABEL_OPTIONAL)
            if "repeated" in rest:
                f.label = F.LABEL_REPEATED
            if kind == F.TYPE_MESSAGE:
                f.type_name = f".{package}.{rest[0]}"
            if oneof and field_name in oneof[1]:
                f.oneof_index = 0

    request_kinds = ("file_by_filename", "file_containing_symbol", "file_containing_extension",
                     "all_extension_numbers_of_type", "list_services")
    message("ServerReflectionRequest", [
        ("host", 1, F.TYPE_STRING), ("file_by_filename", 3, F.TYPE_STRING),
        ("file_containing_symbol", 4, F.TYPE_STRING),
        ("file_containing_extension", 5, F.TYPE_MESSAGE, "ExtensionRequest"),
        ("all_extension_numbers_of_type", 6, F.TYPE_STRING), ("list_services", 7, F.TYPE_STRING),
    ], ("message_request", request_kinds))
    message("ExtensionRequest", [("containing_type", 1, F.TYPE_STRING), ("extension_number", 2, F.TYPE_INT32)])
    response_kinds = ("file_descriptor_response", "all_extension_numbers_response", "list_services_response",
                      "error_response")
    message("ServerReflectionResponse", [
        ("valid_host", 1, F.TYPE_STRING),
        ("original_request", 2, F.TYPE_MESSAGE, "ServerReflectionRequest"),
        ("file_descriptor_response", 4, F.TYPE_MESSAGE, "FileDescriptorResponse"),
        ("all_extension_numbers_response", 5, F.TYPE_MESSAGE, "ExtensionNumberResponse"),
        ("list_services_response", 6, F.TYPE_MESSAGE, "ListServiceResponse"),
        ("error_response", 7, F.TYPE_MESSAGE, "ErrorResponse"),
    ], ("message_response", response_kinds))
    message("FileDescriptorResponse", [("file_descriptor_proto", 1, F.TYPE_BYTES, "repeated")])
    message("ExtensionNumberResponse", [("base_type_name", 1, F.TYPE_STRING),
                                        ("extension_number", 2, F.TYPE_INT32, "repeated")])
    message("ListServiceResponse", [("service", 1, F.TYPE_MESSAGE, "ServiceResponse", "repeated")])
    message("ServiceResponse", [("name", 1, F.TYPE_STRING)])
    message("ErrorResponse", [("error_code", 1, F.TYPE_INT32), ("error_message", 2, F.TYPE_STRING)])
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(fd.SerializeToString())
    return (message_class(pool, f"{package}.ServerReflectionRequest"),
            message_class(pool, f"{package}.ServerReflectionResponse"))


def status_name(code):
    """grpc.StatusCode's name for a numeric code."""
    for status in grpc.StatusCode:
        if status.value[0] == code:
            return status.name
    return str(code)


class Reflection:
    """One ServerReflectionInfo stream, asked one request at a time (as grpcurl does)."""

    def __init__(self, channel, package, metadata, timeout):
        self.request_class, response_class = reflection_messages(package)
        self.path = f"/{package}.ServerReflection/ServerReflectionInfo"
        self.requests = queue.Queue()
        call = channel.stream_stream(self.path, request_serializer=lambda m: m.SerializeToString(),
                                     response_deserializer=response_class.FromString)
        self.responses = call(iter(self.requests.get, None), metadata=metadata, timeout=timeout)

    def ask(self, **kind):
        request = self.request_class(host="reflection-check", **kind)
        self.requests.put(request)
        try:
            response = next(self.responses)
        except grpc.RpcError as err:
            raise Failure(f"{self.path} failed on {kind}: {err.code().name}: {err.details()}") from None
        except StopIteration:
            raise Failure(f"{self.path} ended the stream before answering {kind}") from None
        if response.original_request != request:
            raise Failure(f"{self.path}: original_request does not echo {kind}")
        if response.WhichOneof("message_response") == "error_response":
            e = response.error_response
            raise Failure(f"{self.path}: {kind} -> error {status_name(e.error_code)}: {e.error_message}")
        return response

    def close(self):
        """Half-closes; the server must then end the stream cleanly."""
        self.requests.put(None)
        try:
            extra = list(self.responses)
        except grpc.RpcError as err:
            raise Failure(f"{self.path} did not end cleanly: {err.code().name}: {err.details()}") from None
        if extra:
            raise Failure(f"{self.path} sent {len(extra)} unasked response(s)")


class Loader:
    """Fetches files over reflection and adds them, dependencies first, to one fresh pool."""

    def __init__(self, reflection):
        self.reflection = reflection
        self.protos = {}  # file name -> FileDescriptorProto, as served
        self.added = set()
        self.pool = descriptor_pool.DescriptorPool()

    def take(self, response, asked):
        served = response.file_descriptor_response.file_descriptor_proto
        if not served:
            raise Failure(f"{asked}: the file_descriptor_response holds no file")
        names = []
        for blob in served:
            proto = descriptor_pb2.FileDescriptorProto.FromString(blob)
            if proto.name in names:
                raise Failure(f"{asked}: {proto.name} sent twice in one response")
            names.append(proto.name)
            self.protos.setdefault(proto.name, proto)
        return names

    def load_symbol(self, symbol):
        names = self.take(self.reflection.ask(file_containing_symbol=symbol), f"file_containing_symbol {symbol}")
        self.add(names[0], [])
        return names

    def add(self, name, path):
        if name in self.added:
            return
        if name in path:
            raise Failure(f"import cycle: {' -> '.join(path + [name])}")
        if name not in self.protos:
            self.take(self.reflection.ask(file_by_filename=name), f"file_by_filename {name}")
            if name not in self.protos:
                raise Failure(f"file_by_filename {name} answered other files")
        proto = self.protos[name]
        for dependency in proto.dependency:
            self.add(dependency, path + [name])
        try:
            self.pool.AddSerializedFile(proto.SerializeToString())
        except Exception as err:  # the pool's own validation error: the point of the check
            raise Failure(f"the DescriptorPool rejects {name}: {err}") from None
        self.added.add(name)


def call_method(channel, loader, target, request_json, metadata, timeout):
    pool = loader.pool
    service_name, _, method_name = target.partition("/")
    try:
        service = pool.FindServiceByName(service_name)
        method = service.methods_by_name[method_name]
    except KeyError:
        raise Failure(f"--call {target}: no such method in the reflected descriptors") from None
    # Streaming flags read from the served file: MethodDescriptor has no such attributes in protobuf 4.21.
    service_proto = next(s for s in loader.protos[service.file.name].service if s.name == service.name)
    method_proto = next(m for m in service_proto.method if m.name == method_name)
    if method_proto.client_streaming or method_proto.server_streaming:
        raise Failure(f"--call {target}: only unary methods can be called")
    request_class = message_class(pool, method.input_type.full_name)
    response_class = message_class(pool, method.output_type.full_name)
    try:
        request = json_format.Parse(request_json, request_class(), descriptor_pool=pool)
    except json_format.ParseError as err:
        raise Failure(f"--request-json does not fit {method.input_type.full_name}: {err}") from None
    call = channel.unary_unary(f"/{service_name}/{method_name}", request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=response_class.FromString)
    try:
        response = call(request, metadata=metadata, timeout=timeout)
    except grpc.RpcError as err:
        raise Failure(f"{target} failed: {err.code().name}: {err.details()}") from None
    return json_format.MessageToJson(response, indent=None, sort_keys=True, descriptor_pool=pool)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("address", help="host:port of the server")
    parser.add_argument("--token", help="sent as 'authorization: Bearer TOKEN' on every call")
    parser.add_argument("--protocol", choices=("v1", "v1alpha"), default="v1")
    parser.add_argument("--call", metavar="pkg.Service/Method", help="a unary method to call after the check")
    parser.add_argument("--request-json", default="{}", help="the --call request, as protobuf JSON")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds, per RPC")
    args = parser.parse_args()

    metadata = [("authorization", f"Bearer {args.token}")] if args.token else []
    # The target is on this machine: an http_proxy in the environment must not reroute it.
    channel = grpc.insecure_channel(args.address, options=[("grpc.enable_http_proxy", 0)])
    try:
        reflection = Reflection(channel, f"grpc.reflection.{args.protocol}", metadata, args.timeout)
        loader = Loader(reflection)
        listed = [s.name for s in reflection.ask(list_services="").list_services_response.service]
        if not listed:
            raise Failure("list_services answered no service")
        print(f"reflection {args.protocol} at {args.address}: {len(listed)} services "
              f"(protobuf {api_implementation.Type()} pool)")
        for service in listed:
            files = loader.load_symbol(service)
            try:
                descriptor = loader.pool.FindServiceByName(service)
            except KeyError:
                raise Failure(f"{service}: not in {files[0]}, the file served for it") from None
            methods = ", ".join(m.name for m in descriptor.methods)
            print(f"ok {service}: {descriptor.file.name} (+{len(files) - 1} deps); methods: {methods}")
        reflection.close()
        if args.call:
            print(f"call {args.call} -> "
                  f"{call_method(channel, loader, args.call, args.request_json, metadata, args.timeout)}")
    except Failure as err:
        print(f"reflection_check FAILED: {err}", file=sys.stderr)
        return 1
    finally:
        channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
