"""Just enough of the IAM policy language to ask the rendered template concrete questions:
may this principal do this action on this resource, with this request context?

Evaluation follows AWS IAM "Policy evaluation logic": an explicit Deny wins, then an Allow,
otherwise the request is implicitly denied. Conditions follow AWS IAM "IAM JSON policy elements:
Condition operators": the values listed for one key are ORed, keys and operators are ANDed, a
negated operator (StringNotEquals, ArnNotEquals, ...) is true when the key is absent from the
request, and Null tests whether it is present. Intrinsic functions are resolved against made-up
physical names (account 123456789012, us-east-1); an operator or intrinsic the evaluator does not
know raises, so a template change that outgrows it fails the tests instead of passing them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
STACK_NAME = "pixelforge"
Decision = Literal["Allow", "Deny", "NoMatch"]


@dataclass(frozen=True)
class Stack:
    """The template with its parameters, able to resolve Ref, GetAtt, Sub, If and Join."""

    template: dict[str, Any]
    parameters: Mapping[str, str]

    def parameter(self, name: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        return self.template["Parameters"][name]["Default"]

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::StackName": STACK_NAME,
            "AWS::NoValue": None,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.template.get("Parameters", {}):
            return self.parameter(name)
        resource = self.template["Resources"][name]
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::S3::Bucket":
            return self.resolve(props["BucketName"])
        if kind == "AWS::SNS::Topic":
            return f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{self.resolve(props['TopicName'])}"
        if kind == "AWS::Logs::LogGroup":
            return self.resolve(props["LogGroupName"])
        if kind == "AWS::EC2::VPCEndpoint":
            return f"vpce-{name.lower()}"
        if kind == "AWS::ApiGateway::RestApi":
            return f"api{name.lower()}"
        return f"{name.lower()}-id"  # any other resource: an opaque physical id

    def get_att(self, name: str, attribute: str) -> str:
        kind = self.template["Resources"][name]["Type"]
        ref = self.ref(name)
        arns = {
            ("AWS::S3::Bucket", "Arn"): f"arn:{PARTITION}:s3:::{ref}",
            ("AWS::IAM::Role", "Arn"): f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}",
            ("AWS::KMS::Key", "Arn"): f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/{ref}",
            ("AWS::Logs::LogGroup", "Arn"): (
                f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{ref}:*"
            ),
            ("AWS::Events::Rule", "Arn"): f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:rule/{name}",
        }
        return arns[(kind, attribute)]

    def condition(self, name: str) -> bool:
        return self._truth(self.template["Conditions"][name])

    def _truth(self, node: Any) -> bool:
        ((function, argument),) = node.items()
        if function == "Fn::Equals":
            left, right = (self.resolve(a) for a in argument)
            return left == right
        if function == "Fn::Not":
            return not self._truth(argument[0])
        if function == "Condition":
            return self.condition(argument)
        raise ValueError(f"unknown condition function {function}")

    def resolve(self, node: Any) -> Any:
        """The node with every intrinsic function replaced by its value."""
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, argument),) = node.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Fn::GetAtt":
                name, attribute = argument if isinstance(argument, list) else argument.split(".")
                return self.get_att(name, attribute)
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::If":
                name, then, otherwise = argument
                return self.resolve(then if self.condition(name) else otherwise)
            if key == "Fn::Join":
                separator, items = argument
                return separator.join(self.resolve(items))
            if key.startswith("Fn::"):
                raise ValueError(f"unknown intrinsic {key}")
        return {key: self.resolve(value) for key, value in node.items()}

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                resource, attribute = name.split(".", 1)
                return self.get_att(resource, attribute)
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", value, text)

    def properties(self, name: str) -> dict[str, Any]:
        return self.resolve(self.template["Resources"][name]["Properties"])

    def statements(self, name: str, *path: str) -> list[dict[str, Any]]:
        """The resolved statements of the policy document at the resource's property path."""
        node: Any = self.properties(name)
        for key in path:
            node = node[key]
        return node["Statement"]


@dataclass(frozen=True)
class Request:
    """principal: an ARN, or a service principal such as cloudtrail.amazonaws.com."""

    principal: str
    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)

    def keys(self) -> dict[str, str]:
        keys = {"aws:securetransport": "true"}
        if self.principal.startswith("arn:"):
            keys["aws:principalarn"] = self.principal
        keys.update({k.lower(): v for k, v in self.context.items()})
        return keys


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, *, case: bool = True) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def _principal_matches(principal: Any, request: Request) -> bool:
    if principal == "*":
        return True
    for kind, values in principal.items():
        for value in _listed(values):
            if value == "*" or value == request.principal:
                return True
            # an account principal (its root ARN) stands for every principal of the account
            if (
                kind == "AWS"
                and value.endswith(":root")
                and request.principal.startswith("arn:")
                and _account_of(value) == _account_of(request.principal)
            ):
                return True
    return False


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda actual, expected: actual == expected,
    "StringLike": lambda actual, expected: _glob(expected, actual),
    "ArnEquals": lambda actual, expected: actual == expected,
    "ArnLike": lambda actual, expected: _glob(expected, actual),
    "Bool": lambda actual, expected: actual.lower() == str(expected).lower(),
}
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike"}
_NEGATED |= {"ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike"}


def _conditions_hold(conditions: Mapping[str, Mapping[str, Any]], request: Request) -> bool:
    keys = request.keys()
    for operator, tests in conditions.items():
        for key, expected in tests.items():
            actual = keys.get(key.lower())
            values = _listed(expected)
            if operator == "Null":
                if (actual is None) != (str(values[0]).lower() == "true"):
                    return False
            elif operator in _NEGATED:
                test = _OPERATORS[_NEGATED[operator]]
                if actual is not None and any(test(actual, str(v)) for v in values):
                    return False
            elif operator in _OPERATORS:
                test = _OPERATORS[operator]
                if actual is None or not any(test(actual, str(v)) for v in values):
                    return False
            else:
                raise ValueError(f"condition operator {operator} is not modelled")
    return True


def _applies(statement: Mapping[str, Any], request: Request, *, identity: bool) -> bool:
    if identity != ("Principal" not in statement):
        raise ValueError(f"identity={identity} but statement is {statement}")
    if not identity and not _principal_matches(statement["Principal"], request):
        return False
    if "Action" in statement:
        acts = any(_glob(a, request.action, case=False) for a in _listed(statement["Action"]))
    else:
        acts = not any(_glob(a, request.action, case=False) for a in statement["NotAction"])
    if not acts:
        return False
    if "Resource" in statement:
        on = any(_glob(r, request.resource) for r in _listed(statement["Resource"]))
    else:
        on = not any(_glob(r, request.resource) for r in _listed(statement["NotResource"]))
    return on and _conditions_hold(statement.get("Condition", {}), request)


def decide(
    statements: Sequence[Mapping[str, Any]], request: Request, *, identity: bool = False
) -> Decision:
    """Deny if a Deny statement applies, else Allow if an Allow does, else NoMatch.

    identity: the statements are an identity policy of the request's principal (no Principal).
    """
    effects = {s["Effect"] for s in statements if _applies(s, request, identity=identity)}
    if "Deny" in effects:
        return "Deny"
    return "Allow" if "Allow" in effects else "NoMatch"
