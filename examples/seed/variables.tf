variable "stag_profile" {
  description = "AWS CLI profile for the provider account (stag); null uses the credentials of the environment."
  type        = string
  default     = null
}

variable "deve_profile" {
  description = "AWS CLI profile for the consumer account (deve); null uses the credentials of the environment."
  type        = string
  default     = null
}
