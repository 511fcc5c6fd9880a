/**
 * Envoy's own field constraints (the protoc-gen-validate options in its protos), checked at run
 * time from the descriptors: {@link dev.rotor.xds.validate.ProtoConstraints}. Rotor runs it on what
 * it emits, so a resource Envoy would NACK for a constraint violation is an error at build time,
 * with the field path and the rule, instead of a rejected push.
 */
package dev.rotor.xds.validate;
