# An API server that is not on the internet: an internal Application Load Balancer, reached through a VPC link.
# The integration URI is the load balancer's listener ARN (a Cloud Map service ARN works the same way), and only
# API Gateway, through the VPC link, can reach it.

provider "aws" {
  region = "ap-northeast-1"
}

module "api" {
  source = "../../modules/provider_api"

  name = "orders-private"
  integration = {
    type = "HTTP_PROXY"
    uri  = "arn:aws:elasticloadbalancing:ap-northeast-1:111111111111:listener/app/orders-internal/50dc6c495c0c9188/0467ef3c8400ae65"
    # An existing VPC link into the load balancer's VPC (aws_apigatewayv2_vpc_link; one per VPC is usual).
    vpc_link_id = "x7k2q9"
  }
  invoke_roles = {
    OrdersInvoke = { trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"] }
  }
}

output "invoke_url" {
  description = "The URL consumers call (SigV4-signed, with the invoke role's credentials)."
  value       = module.api.invoke_url
}
