# Consumers as reviewed data: one file per consumer team in consumers/, <team>.yaml (or .yml, or .json). The file
# name is the team's key and the name of its invoke role; adding a team is adding a file, and removing the file
# removes the grant (and nothing else). Fields: account_id, role_arns, routes, contact, reason; optional external_id
# and expires (a date, 2027-03-31 = the start of that day UTC, or an RFC 3339 time). consumers/README.md has an
# example; `xacct consumers request` writes a file from the consumer's own outputs, and `xacct consumers validate`
# checks a folder offline with the same rules as the plan here.
locals {
  consumer_dir      = "${path.module}/consumers"
  consumer_files    = sort(fileset(local.consumer_dir, "*.{yaml,yml,json}"))
  consumer_fields   = ["account_id", "role_arns", "routes", "external_id", "expires", "contact", "reason"]
  consumer_required = ["account_id", "role_arns", "routes", "contact", "reason"]
  consumer_name     = "^[A-Za-z0-9+=,.@_-]{1,64}$"
  consumer_role_arn = "^arn:aws(-cn|-us-gov)?:iam::([0-9]{12}):role/([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}$"
  consumer_date     = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
  # What each rule expects, as the problems below say it (xacct consumers validate says it in the same words).
  consumer_expects = {
    name        = "the file name is the invoke role's name: 1-64 characters of letters, digits and + = , . @ _ -"
    account_id  = "account_id must be 12 digits, quoted (\"012345678901\": YAML reads an unquoted number and drops a leading zero)"
    role_arns   = "role_arns must be a non-empty list of IAM role ARNs (arn:aws:iam::<account_id>:role/<name>)"
    expires     = "expires must be a date (2027-03-31) or an RFC 3339 time (2027-03-31T18:00:00Z)"
    passed      = "has passed: IAM already refuses this team; remove the file, or extend expires after a review"
    text        = "must be a non-empty text (who to ask; why this team calls the API)"
    external_id = "external_id must be 2-1224 characters of letters, digits and + = , . @ : / _ -"
  }

  consumer_docs = {
    for f in local.consumer_files : f => try(
      endswith(f, ".json") ? jsondecode(file("${local.consumer_dir}/${f}")) : yamldecode(file("${local.consumer_dir}/${f}")),
      "unreadable",
    )
  }
  consumer_team = { for f in local.consumer_files : f => replace(f, "/\\.(yaml|yml|json)$/", "") }

  # Every problem of every file, each naming the file, the field and what was expected.
  consumer_problems = flatten([
    for f, doc in local.consumer_docs : can(keys(doc)) ? concat(
      [for k in keys(doc) : "${f}: unknown field \"${k}\" (the fields are ${join(", ", local.consumer_fields)})" if !contains(local.consumer_fields, k)],
      [for k in local.consumer_required : "${f}: field \"${k}\" is missing" if !contains(keys(doc), k)],
      can(regex(local.consumer_name, local.consumer_team[f])) ? [] : ["${f}: ${local.consumer_expects.name}"],
      !contains(keys(doc), "account_id") || can(regex("^[0-9]{12}$", doc.account_id)) ? [] : [
        "${f}: ${local.consumer_expects.account_id}; got ${jsonencode(doc.account_id)}"
      ],
      !contains(keys(doc), "role_arns") || try(
        length(doc.role_arns) > 0 && alltrue([for a in doc.role_arns : can(regex(local.consumer_role_arn, a))]), false
      ) ? [] : ["${f}: ${local.consumer_expects.role_arns}; got ${jsonencode(try(doc.role_arns, null))}"],
      [
        for a in try(tolist(doc.role_arns), []) : "${f}: role_arns entry ${a} is not in account_id ${try(tostring(doc.account_id), "?")}"
        if can(regex(local.consumer_role_arn, a)) && try(regex(local.consumer_role_arn, a)[1] != tostring(doc.account_id), false)
      ],
      !contains(keys(doc), "routes") || try(length(doc.routes) > 0 && alltrue([for r in doc.routes : can(tostring(r))]), false) ? [] : [
        "${f}: routes must be a non-empty list of route keys of this API (${jsonencode(var.routes)}) or [\"*\"]; got ${jsonencode(try(doc.routes, null))}"
      ],
      [
        for r in try(tolist(doc.routes), []) : "${f}: route ${jsonencode(r)} is not a route of this API (routes: ${jsonencode(var.routes)})"
        if r != "*" && !contains(var.routes, r)
      ],
      # consumer_ends (below) reads expires once: null where it names no time.
      !contains(keys(doc), "expires") || local.consumer_ends[f] != null ? [] : [
        "${f}: ${local.consumer_expects.expires}; got ${jsonencode(doc.expires)}"
      ],
      [
        for end in [local.consumer_ends[f]] : "${f}: expires ${end} ${local.consumer_expects.passed}"
        if end != null && timecmp(coalesce(end, "9999-12-31T00:00:00Z"), plantimestamp()) <= 0
      ],
      [
        for k in ["contact", "reason"] : "${f}: ${k} ${local.consumer_expects.text}"
        if contains(keys(doc), k) && try(length(trimspace(tostring(doc[k]))) == 0, true)
      ],
      !contains(keys(doc), "external_id") || can(regex("^[A-Za-z0-9+=,.@:/_-]{2,1224}$", doc.external_id)) ? [] : [
        "${f}: ${local.consumer_expects.external_id}"
      ],
      contains(keys(var.invoke_roles), local.consumer_team[f]) ? [
        "${f}: invoke_roles already defines ${local.consumer_team[f]}: a team is a file or an invoke_roles entry, not both"
      ] : [],
    ) : ["${f}: not a mapping of fields (${doc == "unreadable" ? "the file is not valid YAML or JSON" : "got ${jsonencode(doc)}"})"]
  ])
  consumer_duplicates = [
    for team in distinct(values(local.consumer_team)) : "${join(" and ", [for f, t in local.consumer_team : f if t == team])} are the same team (${team})"
    if length([for f, t in local.consumer_team : f if t == team]) > 1
  ]
  consumer_ends = {
    for f, doc in local.consumer_docs : f => (
      !can(doc.expires) || !can(tostring(doc.expires)) ? null
      : can(regex(local.consumer_date, doc.expires)) ? "${doc.expires}T00:00:00Z"
      : can(timeadd(tostring(doc.expires), "0s")) ? tostring(doc.expires) : null
    )
  }

  # The files, as the module's invoke_roles (the valid ones; a plan with any problem fails below).
  file_invoke_roles = {
    for f, doc in local.consumer_docs : local.consumer_team[f] => {
      trusted_role_arns      = [for a in doc.role_arns : tostring(a)]
      allowed_routes         = [for r in doc.routes : tostring(r)]
      external_id            = try(tostring(doc.external_id), null)
      expires                = local.consumer_ends[f]
      max_session_duration   = 3600
      trust_by_principal_arn = false
    } if can(keys(doc)) && length([for p in local.consumer_problems : p if startswith(p, "${f}:")]) == 0
  }
  invoke_roles = merge(var.invoke_roles, local.file_invoke_roles)
}

resource "terraform_data" "consumers" {
  input = sort(keys(local.file_invoke_roles))

  lifecycle {
    precondition {
      condition     = length(local.consumer_problems) + length(local.consumer_duplicates) == 0
      error_message = "consumers/ holds files that cannot be granted:\n- ${join("\n- ", concat(local.consumer_problems, local.consumer_duplicates))}"
    }
  }
}
