#!/usr/bin/python3
"""Validates the ECS deployment files offline against botocore's ECS service model.

  validate_ecs.py --task-definition deploy/ecs/task-definition.json
  validate_ecs.py --cloudformation deploy/ecs/cloudformation.yaml

A task definition JSON (aws ecs register-task-definition --cli-input-json) is checked as the
RegisterTaskDefinition input. A CloudFormation template is parsed with its short tags (!Ref,
!Sub, ...), its references are checked, and then, for every combination of the parameters'
AllowedValues, the intrinsic functions are resolved with sample values, the PascalCase
properties are turned into the API's camelCase (with CloudFormation's string-to-number
coercion) and AWS::ECS::TaskDefinition / AWS::ECS::Service are checked as the
RegisterTaskDefinition / CreateService inputs. botocore checks required members, types and
unknown keys; this script adds enums and what edge-connector needs (stop timeout above the
drain, the healthcheck command, a nofile limit). Exit status 1 on any problem.
"""
import argparse
import itertools
import json
import re
import sys

import botocore
import botocore.session
import botocore.validate
import yaml

ECS = botocore.session.get_session().get_service_model("ecs")
PSEUDO = {
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "edge-connector-sftp",
    "AWS::StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/edge-connector-sftp/1",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NoValue": None,
}
NO_VALUE = object()  # AWS::NoValue: the property is left out
# Sample values for parameters without a default (the template's own are used otherwise).
SAMPLES = {"String": "sample", "Number": "1"}
KNOWN_SAMPLES = {
    "Cluster": "edge",
    "Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/edge-connector:1.0.0",
    "DiscoveryTarget": "_sftp._tcp.sftp.example.internal",
}
# Resource types this template may use, each with the API operation its properties match
# (None: only its presence is checked) and the properties it must have.
RESOURCE_TYPES = {
    "AWS::ECS::TaskDefinition": ("RegisterTaskDefinition", ["ContainerDefinitions"]),
    "AWS::ECS::Service": ("CreateService", ["Cluster", "TaskDefinition"]),
    "AWS::Logs::LogGroup": (None, []),
}
PARAMETER_TYPES = {"String", "Number", "CommaDelimitedList", "List<Number>"}
TOP_LEVEL = {"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules",
             "Mappings", "Conditions", "Transform", "Resources", "Outputs"}


class Problems(list):
    def add(self, where, what):
        self.append(f"{where}: {what}")


# --- CloudFormation YAML: the short tags become the long form ({"Ref": ...}, {"Fn::Sub": ...}).
class CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Fn::" + suffix: value}


CfnLoader.add_multi_constructor("!", _tag)


def sub_names(text):
    """The ${Name} references of a Fn::Sub string (${!Literal} is no reference)."""
    return [n for n in re.findall(r"\$\{([^}]*)\}", text) if not n.startswith("!")]


def check_references(template, problems, where):
    params = set(template.get("Parameters", {}))
    resources = set(template.get("Resources", {}))
    conditions = set(template.get("Conditions", {}))
    names = params | resources | set(PSEUDO)

    def walk(node, path):
        if isinstance(node, dict):
            if len(node) == 1:
                (key, value), = node.items()
                if key == "Ref" and value not in names:
                    problems.add(f"{where}:{path}", f"!Ref {value}: no such parameter or resource")
                elif key == "Fn::GetAtt" and (not isinstance(value, list) or value[0] not in resources):
                    problems.add(f"{where}:{path}", f"!GetAtt {value}: no such resource")
                elif key == "Fn::Sub":
                    text, extra = (value[0], value[1]) if isinstance(value, list) else (value, {})
                    for n in sub_names(text):
                        if n.split(".")[0] not in names and n not in extra:
                            problems.add(f"{where}:{path}", f"!Sub ${{{n}}}: no such parameter or resource")
                elif key == "Fn::If" and (not isinstance(value, list) or value[0] not in conditions):
                    problems.add(f"{where}:{path}", f"!If {value[0] if value else value}: no such condition")
            for k, v in node.items():
                walk(v, f"{path}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")

    walk(template.get("Resources", {}), "Resources")
    walk(template.get("Outputs", {}), "Outputs")
    walk(template.get("Conditions", {}), "Conditions")


def check_template_shape(template, problems, where):
    if not isinstance(template, dict):
        problems.add(where, "not a mapping")
        return
    for key in template:
        if key not in TOP_LEVEL:
            problems.add(where, f"unknown top-level section {key}")
    if template.get("AWSTemplateFormatVersion", "2010-09-09") != "2010-09-09":
        problems.add(where, "AWSTemplateFormatVersion must be 2010-09-09")
    for name, p in template.get("Parameters", {}).items():
        ptype = p.get("Type")
        if ptype not in PARAMETER_TYPES and not str(ptype).startswith("AWS::"):
            problems.add(f"{where}:Parameters.{name}", f"unknown Type {ptype}")
        default = p.get("Default")
        if default is not None and "AllowedValues" in p and str(default) not in map(str, p["AllowedValues"]):
            problems.add(f"{where}:Parameters.{name}", f"Default {default} not in AllowedValues")
        if default is not None and ptype == "Number":
            if not (p.get("MinValue", float("-inf")) <= float(default) <= p.get("MaxValue", float("inf"))):
                problems.add(f"{where}:Parameters.{name}", f"Default {default} outside MinValue/MaxValue")
    resources = template.get("Resources")
    if not resources:
        problems.add(where, "no Resources")
        return
    for name, res in resources.items():
        rtype = res.get("Type")
        if rtype not in RESOURCE_TYPES:
            problems.add(f"{where}:Resources.{name}", f"resource type {rtype} is not one this check knows")
            continue
        for prop in RESOURCE_TYPES[rtype][1]:
            if prop not in res.get("Properties", {}):
                problems.add(f"{where}:Resources.{name}", f"{rtype} needs {prop}")


# --- Resolving intrinsic functions with one set of parameter values.
class Resolver:
    def __init__(self, template, values):
        self.template = template
        self.values = values  # parameter name -> string value
        self.conditions = {}
        for name, cond in template.get("Conditions", {}).items():
            self.conditions[name] = bool(self.resolve(cond))

    def ref(self, name):
        if name in self.values:
            return self.values[name]
        if name in PSEUDO:
            return NO_VALUE if PSEUDO[name] is None else PSEUDO[name]
        res = self.template["Resources"][name]
        if res["Type"] == "AWS::Logs::LogGroup":
            return self.resolve(res.get("Properties", {}).get("LogGroupName", name))
        if res["Type"] == "AWS::ECS::TaskDefinition":
            return f"arn:aws:ecs:eu-west-1:123456789012:task-definition/{name}:1"
        return f"sample-{name}"

    def resolve(self, node):
        if isinstance(node, list):
            out = [self.resolve(v) for v in node]
            return [v for v in out if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, value), = node.items()
            if key == "Ref":
                return self.ref(value)
            if key == "Fn::Sub":
                text, extra = (value[0], self.resolve(value[1])) if isinstance(value, list) else (value, {})
                return re.sub(r"\$\{([^}!]*)\}",
                              lambda m: str(extra[m[1]] if m[1] in extra else self.ref(m[1])), text)
            if key == "Fn::GetAtt":
                return f"sample-{value[0]}-{value[1]}"
            if key == "Fn::If":
                return self.resolve(value[1] if self.conditions[value[0]] else value[2])
            if key == "Fn::Equals":
                a, b = self.resolve(value)
                return str(a) == str(b)
            if key == "Fn::Not":
                return not self.resolve(value[0])
            if key == "Fn::And":
                return all(self.resolve(value))
            if key == "Fn::Or":
                return any(self.resolve(value))
            if key == "Condition":
                return self.conditions[value]
            if key == "Fn::Join":
                return value[0].join(str(v) for v in self.resolve(value[1]))
            if key.startswith("Fn::"):
                raise ValueError(f"{key} is not resolved by this check")
        out = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}


# --- From CloudFormation properties to API parameters, led by the botocore shape.
def to_api(value, shape, path, problems, cfn):
    """PascalCase keys to camelCase (cfn only), CloudFormation's scalar coercion, enums."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        out = {}
        for key, v in value.items():
            api_key = key[0].lower() + key[1:] if cfn else key
            member = shape.members.get(api_key)
            # An unknown key is passed on as is: botocore names it.
            out[api_key] = to_api(v, member, f"{path}.{key}", problems, cfn) if member else v
        return out
    if kind == "list" and isinstance(value, list):
        return [to_api(v, shape.member, f"{path}[{i}]", problems, cfn) for i, v in enumerate(value)]
    if kind == "map" and isinstance(value, dict):
        return {k: to_api(v, shape.value, f"{path}.{k}", problems, cfn) for k, v in value.items()}
    if cfn:  # CloudFormation turns "30" into 30 for a number, 30 into "30" for a string
        if kind in ("integer", "long") and isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            value = int(value)
        elif kind == "boolean" and value in ("true", "false"):
            value = value == "true"
        elif kind == "string" and isinstance(value, bool):
            value = "true" if value else "false"
        elif kind == "string" and isinstance(value, (int, float)):
            value = str(value)
    if kind == "string" and shape.enum and isinstance(value, str) and value not in shape.enum:
        problems.add(path, f"'{value}' is not one of {', '.join(shape.enum)}")
    return value


def botocore_check(params, operation, where, problems):
    try:
        botocore.validate.validate_parameters(params, ECS.operation_model(operation).input_shape)
    except botocore.exceptions.ParamValidationError as e:
        for line in str(e).splitlines():
            line = line.strip()
            if line and not line.startswith("Parameter validation failed"):
                problems.add(where, f"{operation}: {line}")


def seconds(duration):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)?", duration.strip())
    if not m:
        return None
    return int(m[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m[2]]


def check_edge_connector(taskdef, where, problems):
    """What edge-connector needs from its task, beyond what the API accepts."""
    containers = taskdef.get("containerDefinitions") or []
    if taskdef.get("networkMode") != "host":
        problems.add(where, "networkMode should be host (clients reach the edge host's port)")
    for c in containers:
        name = f"{where}:container {c.get('name')}"
        env = {e.get("name"): e.get("value", "") for e in c.get("environment", [])}
        for var in ("LISTENER_PORT", "ECS_SERVICE_DISCOVERY_TARGET"):
            if not env.get(var):
                problems.add(name, f"environment {var} is not set")
        delay = seconds(env.get("EDGE_DRAIN_DELAY") or "0s")
        drain = env.get("EDGE_DRAIN_TIMEOUT") or "20s"
        timeout = seconds(drain) if drain != "off" else None
        stop = c.get("stopTimeout")
        if delay is None or (drain != "off" and timeout is None):
            problems.add(name, "EDGE_DRAIN_DELAY / EDGE_DRAIN_TIMEOUT is not a duration")
        elif isinstance(stop, str):
            pass  # a wrong type: botocore says so
        elif stop is None or timeout is None or not stop > delay + timeout:
            problems.add(name, f"stopTimeout {stop} must exceed drain delay + drain timeout "
                         f"({delay:g}s + {drain})")
        command = (c.get("healthCheck") or {}).get("command") or []
        if len(command) < 3 or command[0] != "CMD" or not command[1].endswith("edge-connector") \
                or command[2] != "healthcheck":
            problems.add(name, "healthCheck.command should be [CMD, /usr/local/bin/edge-connector, healthcheck]")
        if not any(u.get("name") == "nofile" for u in c.get("ulimits", [])):
            problems.add(name, "no nofile ulimit (two descriptors per connection)")


def validate_task_definition(path, problems):
    try:
        with open(path, encoding="utf-8") as f:
            params = json.load(f)
    except (OSError, ValueError) as e:
        problems.add(path, f"not JSON: {e}")
        return
    shape = ECS.operation_model("RegisterTaskDefinition").input_shape
    params = to_api(params, shape, path, problems, cfn=False)
    botocore_check(params, "RegisterTaskDefinition", path, problems)
    check_edge_connector(params, path, problems)


def validate_cloudformation(path, problems):
    try:
        with open(path, encoding="utf-8") as f:
            template = yaml.load(f, Loader=CfnLoader)  # noqa: S506 (SafeLoader + CFN tags)
    except (OSError, yaml.YAMLError) as e:
        problems.add(path, f"not YAML: {e}")
        return 0
    before = len(problems)
    check_template_shape(template, problems, path)
    if len(problems) == before:
        check_references(template, problems, path)
    if len(problems) > before:
        return 0
    params = template.get("Parameters", {})
    base = {n: str(p.get("Default", KNOWN_SAMPLES.get(n, SAMPLES.get(p.get("Type"), "sample"))))
            for n, p in params.items()}
    choices = [[(n, str(v)) for v in p["AllowedValues"]] for n, p in params.items() if "AllowedValues" in p]
    combos = list(itertools.product(*choices))[:64]
    seen = set()
    for combo in combos:
        values = dict(base, **dict(combo))
        label = ",".join(f"{n}={v}" for n, v in combo) or "defaults"
        try:
            resolver = Resolver(template, values)
            resources = resolver.resolve(template["Resources"])
        except (KeyError, ValueError, TypeError, IndexError) as e:
            problems.add(f"{path} [{label}]", f"cannot resolve: {e!r}")
            continue
        for name, res in resources.items():
            operation = RESOURCE_TYPES[res["Type"]][0]
            if operation is None:
                continue
            where = f"{path}:Resources.{name} [{label}]"
            local = Problems()
            shape = ECS.operation_model(operation).input_shape
            api = to_api(res.get("Properties", {}), shape, where, local, cfn=True)
            if operation == "CreateService":
                api.setdefault("serviceName", "sample-service")  # CloudFormation generates one
                if api.get("schedulingStrategy") != "DAEMON":
                    local.add(where, "SchedulingStrategy should be DAEMON (one task per edge host)")
            botocore_check(api, operation, where, local)
            if operation == "RegisterTaskDefinition":
                check_edge_connector(api, where, local)
            for p in local:  # the same problem in every combination is reported once
                key = re.sub(r" \[[^]]*\]", "", p)
                if key not in seen:
                    seen.add(key)
                    problems.append(p)
    return len(combos)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task-definition", action="append", default=[], metavar="JSON")
    ap.add_argument("--cloudformation", action="append", default=[], metavar="YAML")
    args = ap.parse_args()
    if not args.task_definition and not args.cloudformation:
        ap.error("nothing to check")
    model = f"botocore {botocore.__version__}, ECS API {ECS.api_version}"
    failed = False
    for path in args.task_definition:
        problems = Problems()
        validate_task_definition(path, problems)
        failed |= report(path, problems, f"RegisterTaskDefinition input ({model})")
    for path in args.cloudformation:
        problems = Problems()
        combos = validate_cloudformation(path, problems)
        failed |= report(path, problems, f"TaskDefinition and Service as RegisterTaskDefinition and "
                         f"CreateService inputs, {combos} parameter combination(s) ({model})")
    return 1 if failed else 0


def report(path, problems, what):
    if problems:
        for p in problems:
            print(f"  {p}")
        print(f"FAIL {path}: {len(problems)} problem(s)")
        return True
    print(f"ok   {path}: {what}")
    return False


if __name__ == "__main__":
    sys.exit(main())
